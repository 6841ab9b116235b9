// `pre` plugin answering by itself: a non-error ResponseCode sends ResponseBody as is.
var preReply = new TykJS.TykMiddleware.NewMiddleware({});

preReply.NewProcessRequest(function (request, session, config) {
    request.ReturnOverrides.ResponseCode = 200;
    request.ReturnOverrides.ResponseBody = "hello from plugin";
    request.ReturnOverrides.ResponseHeaders = {"Content-Type": "text/plain", "X-Reply": "plugin"};
    return preReply.ReturnData(request, {});
});
