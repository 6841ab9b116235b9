// `pre` plugin changing the request: headers deleted and set, query parameters deleted and added,
// the URL rewritten and (for POST) the body replaced. What it saw is reported in X-Seen-* headers.
var rewriteMw = new TykJS.TykMiddleware.NewMiddleware({});

rewriteMw.NewProcessRequest(function (request, session, config) {
    request.SetHeaders["X-Seen-Url"] = request.URL;
    request.SetHeaders["X-Seen-Method"] = request.Method;
    request.SetHeaders["X-Seen-Orig"] = (request.Params["orig"] || ["<none>"])[0];
    request.SetHeaders["X-Seen-Keep"] = (request.Headers["X-Keep"] || ["<none>"])[0];
    request.DeleteHeaders.push("X-Remove");
    request.SetHeaders["X-Added"] = "yes";
    request.DeleteParams.push("drop");
    request.AddParams["added"] = "1";
    request.URL = request.URL.replace("/plug/original", "/plug/rewritten");
    if (request.Method === "POST") {
        request.Body = "plugin saw: " + request.Body;
    }
    return rewriteMw.ReturnData(request, {});
});
