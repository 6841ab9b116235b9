// Calls the upstream given in config_data.upstream with TykMakeHttpRequest and reports the reply
// (status code, the path and a header the upstream echoed) in request headers.
var httpMw = new TykJS.TykMiddleware.NewMiddleware({});

httpMw.NewProcessRequest(function (request, session, config) {
    var reply = JSON.parse(TykMakeHttpRequest(JSON.stringify({
        Method: "GET",
        Domain: config.config_data.upstream,
        Resource: "/from-plugin?via=js",
        Headers: {"X-From-Plugin": "1"},
        Body: ""
    })));
    request.SetHeaders["X-Call-Code"] = String(reply.Code);
    try {
        var echoed = JSON.parse(reply.Body);
        request.SetHeaders["X-Call-Path"] = echoed.path;
        request.SetHeaders["X-Call-Query"] = echoed.query;
        request.SetHeaders["X-Call-Header"] = (echoed.headers["X-From-Plugin"] || ["<absent>"])[0];
    } catch (e) {
        request.SetHeaders["X-Call-Path"] = "<body not JSON>";
    }
    return httpMw.ReturnData(request, {});
});
