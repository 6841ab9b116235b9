// Reads the API's config_data (and ids) from the plugin's config argument.
var greetMw = new TykJS.TykMiddleware.NewMiddleware({});

greetMw.NewProcessRequest(function (request, session, config) {
    request.SetHeaders["X-Greeting"] = config.config_data.greeting;
    request.SetHeaders["X-Plugin-Api-Id"] = config.APIID;
    request.SetHeaders["X-Plugin-Org-Id"] = config.OrgID;
    return greetMw.ReturnData(request, {});
});
