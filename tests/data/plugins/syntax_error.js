// Deliberately broken: does not compile. The gateway reports it with its path at load.
var syntaxMw = new TykJS.TykMiddleware.NewMiddleware({});

syntaxMw.NewProcessRequest(function (request, session, config {
    return syntaxMw.ReturnData(request, {};
});
