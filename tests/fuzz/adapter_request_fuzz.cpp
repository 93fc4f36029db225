// libFuzzer target for the adapter's request path (tests/fuzz/run.sh runs it): the pure
// steps sidecar/app/adapter.cpp's route() takes before any Kubernetes or sidecar request,
// in its order, on a hostile URL, query and headers. Input lines (LF-separated): path,
// query, Accept, If-None-Match.
//
// Checks, beyond "never throws out" (an exception escaping is a crash here):
// - every error is a Kubernetes Status with a 4xx/5xx code, the reason of that code and a
//   message, and its JSON (written as the adapter writes answers, invalid UTF-8 replaced)
//   parses back to the same code;
// - a parsed path names a known metric, a valid namespace (and pod, for the pod form), an
//   attached resource for an object, and paths outside the API are never parsed;
// - every answer document (group, discovery, MetricValueList with the selector) is JSON;
// - the OpenAPI answer is 200, 304 or a 406 Status;
// - labelSelector survives percent_encode (the adapter forwards it to the Kubernetes API).
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "common/percent_encoding.h"
#include "custom_metrics.h"
#include "http_message.h"
#include "openapi.h"

namespace {

using namespace pulse::sidecar;
using nlohmann::json;

[[noreturn]] void broken(const char *what) {
    std::fprintf(stderr, "invariant broken: %s\n", what);
    std::abort();
}

// As adapter.cpp's json_response writes a document.
std::string written(const json &doc) {
    return doc.dump(-1, ' ', false, json::error_handler_t::replace);
}

void check_status(const cm::ApiError &e) {
    if (e.code < 400 || e.code > 599) broken("a Status with a code outside 4xx/5xx");
    if (e.reason != cm::reason_for_code(e.code)) broken("a Status with another code's reason");
    if (e.message.empty()) broken("a Status without a message");
    const json back = json::parse(written(cm::status_json(e)), nullptr, false);
    if (back.is_discarded() || back.value("kind", "") != "Status" ||
        back.value("code", 0) != e.code)
        broken("a Status that does not read back");
}

void check_document(const json &doc) {
    if (json::parse(written(doc), nullptr, false).is_discarded())
        broken("an answer that is not JSON");
}

const cm::Catalog &catalog() {
    static const cm::Catalog c{{{"pulse_jobs_waiting",
                                 60,
                                 {{"default", "deployments", "web", {{"queue", "jobs"}}},
                                  {"batch", "statefulsets.apps", "*", {}}}}}};
    return c;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size) {
    std::string_view rest(reinterpret_cast<const char *>(data), size);
    std::vector<std::string> f;
    while (f.size() < 4) {
        const std::size_t lf = rest.find('\n');
        f.emplace_back(rest.substr(0, lf));
        rest = lf == std::string_view::npos ? std::string_view{} : rest.substr(lf + 1);
    }
    HttpRequest req;
    req.method = "GET";
    req.path = f[0];
    req.query = f[1];
    req.headers = {{"Accept", f[2]}, {"If-None-Match", f[3]}};

    if (req.path == cm::kOpenApiPath) {
        const HttpResponse r =
            cm::openapi_v2_answer(req.header("Accept"), req.header("If-None-Match"));
        if (r.status == 406) {
            const json back = json::parse(r.body, nullptr, false);
            if (back.is_discarded() || back.value("code", 0) != 406)
                broken("a 406 without its Status");
        } else if (r.status != 200 && r.status != 304) {
            broken("the OpenAPI answer is neither 200, 304 nor 406");
        }
        return 0;
    }
    const bool api_path = cm::is_api_path(req.path);
    const auto parsed = cm::parse_api_path(req.path, catalog());
    if (const auto *e = std::get_if<cm::ApiError>(&parsed)) {
        check_status(*e);
        return 0;
    }
    if (!api_path) broken("a path outside the API parsed");
    const cm::ApiRequest &api = std::get<cm::ApiRequest>(parsed);
    if (api.kind == cm::RequestKind::group) {
        check_document(cm::api_group());
        return 0;
    }
    if (api.kind == cm::RequestKind::discovery) {
        check_document(cm::discovery(api.version, catalog()));
        return 0;
    }
    const cm::ConfigMetric *config = catalog().find(api.metric);
    if (!cm::is_signal(api.metric) && config == nullptr) broken("an unknown metric parsed");
    if (!cm::valid_namespace_name(api.ns)) broken("an invalid namespace parsed");
    if (api.kind == cm::RequestKind::pod && !cm::valid_pod_name(api.pod))
        broken("an invalid pod name parsed");
    if (api.kind == cm::RequestKind::object) {
        if (config == nullptr) broken("an object metric that is no config signal");
        bool attached = false;
        for (const cm::ObjectTarget &o : config->objects)
            attached = attached || cm::same_resource(api.resource, o.resource);
        if (!attached) broken("an object metric for a resource it is not attached to");
    }

    const auto sel =
        cm::parse_metric_selector(req.param("metricLabelSelector").value_or(""), config != nullptr);
    if (const auto *e = std::get_if<cm::ApiError>(&sel)) {
        if (e->code != 400) broken("a bad metricLabelSelector that is not a 400");
        check_status(*e);
        return 0;
    }
    const cm::MetricSelector &selector = std::get<cm::MetricSelector>(sel);
    check_document(cm::selector_json(selector));

    const std::string label_selector = req.param("labelSelector").value_or("");
    if (pulse::common::percent_decode(pulse::common::percent_encode(label_selector)) !=
        label_selector)
        broken("labelSelector does not survive percent_encode");

    cm::MetricPoint point;
    point.ns = api.ns;
    point.name = api.kind == cm::RequestKind::pod ? api.pod : "web-0";
    point.timestamp_unix = 1700000000.5;
    point.window_seconds = 60;
    point.value = 1.5;
    const json list = cm::metric_value_list(api.version, api.metric, selector, {point});
    check_document(list);
    if (!list.contains("items") || list["items"].size() != 1)
        broken("a MetricValueList without its item");
    return 0;
}
