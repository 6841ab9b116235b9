// A plugin that never returns when the request has an X-Loop header (stopped by jsvm_timeout),
// and otherwise marks the request and lets it through.
var loopMw = new TykJS.TykMiddleware.NewMiddleware({});

loopMw.NewProcessRequest(function (request, session, config) {
    if (request.Headers["X-Loop"]) {
        while (true) {
        }
    }
    request.SetHeaders["X-Loop-Plugin"] = "passed";
    return loopMw.ReturnData(request, {});
});
