// `pre` plugin refusing every request with 403 through ReturnOverrides (Tyk's error template).
var preBlock = new TykJS.TykMiddleware.NewMiddleware({});

preBlock.NewProcessRequest(function (request, session, config) {
    request.ReturnOverrides.ResponseCode = 403;
    request.ReturnOverrides.ResponseError = "blocked by plugin";
    request.ReturnOverrides.ResponseHeaders = {"X-Blocked": "yes"};
    return preBlock.ReturnData(request, {});
});
