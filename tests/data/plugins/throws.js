// A plugin that throws: the gateway answers 500 and keeps serving.
var throwMw = new TykJS.TykMiddleware.NewMiddleware({});

throwMw.NewProcessRequest(function (request, session, config) {
    throw new Error("plugin failure on purpose");
});
