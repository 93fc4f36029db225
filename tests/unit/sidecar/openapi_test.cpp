// The OpenAPI v2 document of the custom metrics API (sidecar/lib/openapi.h): its Swagger
// 2.0 structure, that every $ref resolves and every definition is reached from a path (the
// aggregator keeps only those), the kinds' x-kubernetes-group-version-kind, that its paths
// are routes the adapter serves and its schemas fit the documents it answers with; and how
// it is served: ETag, If-None-Match, Accept.
#include "openapi.h"

#include <gtest/gtest.h>

#include <regex>
#include <set>
#include <string>
#include <vector>

#include "custom_metrics.h"
#include "common/signals.h"

namespace pulse::sidecar::cm {
namespace {

using nlohmann::json;

const std::string kPrefix = "#/definitions/";
const std::string kV1 = "/apis/custom.metrics.k8s.io/v1beta1/";
const std::string kV2 = "/apis/custom.metrics.k8s.io/v1beta2/";

std::string cm_def(const std::string &version, const std::string &kind) {
    return "io.k8s.metrics.pkg.apis.custom_metrics." + version + "." + kind;
}

// Every "$ref" value anywhere under `node`.
void collect_refs(const json &node, std::vector<std::string> &out) {
    if (node.is_object()) {
        for (const auto &[key, value] : node.items()) {
            if (key == "$ref" && value.is_string()) {
                out.push_back(value.get<std::string>());
            } else {
                collect_refs(value, out);
            }
        }
    } else if (node.is_array()) {
        for (const json &v : node) collect_refs(v, out);
    }
}

std::string definition_of(const std::string &ref) {
    return ref.rfind(kPrefix, 0) == 0 ? ref.substr(kPrefix.size()) : std::string();
}

// The definitions reached from the paths, following $refs through definitions.
std::set<std::string> reachable(const json &doc) {
    std::vector<std::string> todo;
    collect_refs(doc["paths"], todo);
    std::set<std::string> seen;
    while (!todo.empty()) {
        std::string name = definition_of(todo.back());
        todo.pop_back();
        if (name.empty() || !seen.insert(name).second) continue;
        if (doc["definitions"].contains(name)) collect_refs(doc["definitions"][name], todo);
    }
    return seen;
}

// The {names} of a path template, in order.
std::vector<std::string> template_names(const std::string &path) {
    std::vector<std::string> names;
    static const std::regex param(R"(\{([^}]+)\})");
    for (std::sregex_iterator it(path.begin(), path.end(), param), end; it != end; ++it) {
        names.push_back((*it)[1]);
    }
    return names;
}

std::string fill(std::string path, const std::map<std::string, std::string> &values) {
    for (const auto &[name, value] : values) {
        std::string key = "{" + name + "}";
        for (std::size_t at; (at = path.find(key)) != std::string::npos;)
            path.replace(at, key.size(), value);
    }
    return path;
}

// Every key of `doc` is a property of `schema`, and every required property is in `doc`.
void expect_fits(const json &doc, const json &schema, const std::string &what) {
    ASSERT_TRUE(doc.is_object()) << what;
    for (const auto &[key, value] : doc.items()) {
        EXPECT_TRUE(schema["properties"].contains(key)) << what << " has " << key;
    }
    for (const json &name : schema.value("required", json::array())) {
        EXPECT_TRUE(doc.contains(name.get<std::string>())) << what << " lacks " << name;
    }
}

// ---- the document ----------------------------------------------------------------------

TEST(OpenApi, Swagger2Structure) {
    json doc = openapi_v2();
    EXPECT_EQ(doc["swagger"], "2.0");
    EXPECT_TRUE(doc["info"]["title"].is_string());
    EXPECT_TRUE(doc["info"]["version"].is_string());
    ASSERT_TRUE(doc["paths"].is_object());
    ASSERT_TRUE(doc["definitions"].is_object());
    std::set<std::string> keys;
    for (const auto &[key, value] : doc.items()) keys.insert(key);
    EXPECT_EQ(keys, (std::set<std::string>{"swagger", "info", "paths", "definitions"}));
}

TEST(OpenApi, TheApisRoutes) {
    json doc = openapi_v2();
    std::set<std::string> paths;
    for (const auto &[path, item] : doc["paths"].items()) paths.insert(path);
    std::set<std::string> want = {"/apis/custom.metrics.k8s.io/"};
    for (const std::string &v : {kV1, kV2}) {
        want.insert(v);
        want.insert(v + "namespaces/{namespace}/{resource}/{name}/{metric}");
        want.insert(v + "namespaces/{namespace}/metrics/{metric}");
        want.insert(v + "{resource}/{name}/{metric}");
    }
    EXPECT_EQ(paths, want);
    // The aggregator keeps only paths under /apis/.
    for (const std::string &p : paths) EXPECT_EQ(p.rfind("/apis/", 0), 0u) << p;
}

TEST(OpenApi, EveryRefResolvesAndEveryDefinitionIsUsed) {
    json doc = openapi_v2();
    std::vector<std::string> refs;
    collect_refs(doc, refs);
    EXPECT_GT(refs.size(), 20u);
    for (const std::string &r : refs) {
        ASSERT_EQ(r.rfind(kPrefix, 0), 0u) << r;
        EXPECT_TRUE(doc["definitions"].contains(definition_of(r))) << "dangling " << r;
    }
    std::set<std::string> used = reachable(doc);
    for (const auto &[name, schema] : doc["definitions"].items()) {
        EXPECT_TRUE(used.count(name)) << name << " is reached from no path";
    }
}

TEST(OpenApi, TheDefinitionsKubernetesNames) {
    json doc = openapi_v2();
    for (const char *name :
         {"io.k8s.metrics.pkg.apis.custom_metrics.v1beta1.MetricValueList",
          "io.k8s.metrics.pkg.apis.custom_metrics.v1beta1.MetricValue",
          "io.k8s.metrics.pkg.apis.custom_metrics.v1beta2.MetricValueList",
          "io.k8s.metrics.pkg.apis.custom_metrics.v1beta2.MetricValue",
          "io.k8s.metrics.pkg.apis.custom_metrics.v1beta2.MetricIdentifier",
          "io.k8s.api.core.v1.ObjectReference", "io.k8s.apimachinery.pkg.api.resource.Quantity",
          "io.k8s.apimachinery.pkg.apis.meta.v1.ListMeta",
          "io.k8s.apimachinery.pkg.apis.meta.v1.LabelSelector",
          "io.k8s.apimachinery.pkg.apis.meta.v1.LabelSelectorRequirement",
          "io.k8s.apimachinery.pkg.apis.meta.v1.Time",
          "io.k8s.apimachinery.pkg.apis.meta.v1.APIGroup",
          "io.k8s.apimachinery.pkg.apis.meta.v1.APIResourceList",
          "io.k8s.apimachinery.pkg.apis.meta.v1.APIResource"}) {
        EXPECT_TRUE(doc["definitions"].contains(name)) << name;
    }
    EXPECT_EQ(doc["definitions"]["io.k8s.apimachinery.pkg.api.resource.Quantity"]["type"],
              "string");
    EXPECT_EQ(doc["definitions"]["io.k8s.apimachinery.pkg.apis.meta.v1.Time"]["format"],
              "date-time");
}

TEST(OpenApi, ListTypesOfBothVersionsHaveTheirGroupVersionKind) {
    json doc = openapi_v2();
    for (const std::string v : {"v1beta1", "v1beta2"}) {
        for (const std::string kind : {"MetricValueList", "MetricValue"}) {
            const json &def = doc["definitions"][cm_def(v, kind)];
            EXPECT_EQ(def["x-kubernetes-group-version-kind"],
                      json::parse(R"([{"group": "custom.metrics.k8s.io", "version": ")" + v +
                                  R"(", "kind": ")" + kind + R"("}])"))
                << v << " " << kind;
        }
        const json &list = doc["definitions"][cm_def(v, "MetricValueList")];
        EXPECT_EQ(list["properties"]["items"]["items"]["$ref"], kPrefix + cm_def(v, "MetricValue"));
        EXPECT_EQ(list["properties"]["metadata"]["$ref"],
                  kPrefix + "io.k8s.apimachinery.pkg.apis.meta.v1.ListMeta");
        EXPECT_EQ(list["required"], json::array({"items"}));
    }
    const json &defs = doc["definitions"];
    EXPECT_EQ(
        defs["io.k8s.apimachinery.pkg.apis.meta.v1.APIGroup"]["x-kubernetes-group-version-kind"],
        json::parse(R"([{"group": "", "version": "v1", "kind": "APIGroup"}])"));
    EXPECT_EQ(defs["io.k8s.apimachinery.pkg.apis.meta.v1.APIResourceList"]
                  ["x-kubernetes-group-version-kind"],
              json::parse(R"([{"group": "", "version": "v1", "kind": "APIResourceList"}])"));
}

TEST(OpenApi, OperationsAndParametersAreWellFormed) {
    json doc = openapi_v2();
    std::set<std::string> ids;
    for (const auto &[path, item] : doc["paths"].items()) {
        std::set<std::string> methods;
        for (const auto &[key, value] : item.items()) methods.insert(key);
        methods.erase("parameters");
        EXPECT_EQ(methods, std::set<std::string>{"get"}) << path;
        const json &get = item["get"];
        ASSERT_TRUE(get["operationId"].is_string()) << path;
        EXPECT_TRUE(ids.insert(get["operationId"].get<std::string>()).second) << get["operationId"];
        EXPECT_EQ(get["produces"], json::array({"application/json"})) << path;
        EXPECT_EQ(get["schemes"], json::array({"https"})) << path;
        ASSERT_TRUE(get["responses"]["200"]["schema"]["$ref"].is_string()) << path;
        EXPECT_TRUE(get["responses"]["200"]["description"].is_string()) << path;
        EXPECT_TRUE(get["responses"]["401"]["description"].is_string()) << path;
        ASSERT_EQ(get["tags"].size(), 1u);

        // Each {name} of the template is a required path parameter, and the other way round.
        std::vector<std::string> in_path;
        for (const json &p : item.value("parameters", json::array())) {
            ASSERT_TRUE(p["name"].is_string() && p["in"].is_string() && p["type"].is_string()) << p;
            EXPECT_EQ(p["type"], "string");
            EXPECT_TRUE(p["description"].is_string()) << p;
            if (p["in"] == "path") {
                EXPECT_EQ(p["required"], true) << p;
                in_path.push_back(p["name"]);
            } else {
                EXPECT_EQ(p["in"], "query") << p;
                EXPECT_FALSE(p.contains("required") && p["required"] == true) << p;
            }
        }
        EXPECT_EQ(in_path, template_names(path)) << path;
    }
    EXPECT_TRUE(ids.count("getCustomMetricsAPIGroup"));
    EXPECT_TRUE(ids.count("getCustomMetricsV1beta2APIResources"));
    EXPECT_TRUE(ids.count("listCustomMetricsV1beta2NamespacedMetricValue"));
    EXPECT_TRUE(ids.count("readCustomMetricsV1beta1MetricValueForNamespace"));
}

TEST(OpenApi, MetricParameterListsTheSignals) {
    json doc = openapi_v2();
    json names = json::array();
    for (const auto &s : pulse::common::kSignals) names.push_back(s.name);
    int seen = 0;
    for (const auto &[path, item] : doc["paths"].items()) {
        for (const json &p : item.value("parameters", json::array())) {
            if (p["name"] == "metric") {
                EXPECT_EQ(p["enum"], names) << path;
                ++seen;
            }
        }
    }
    EXPECT_EQ(seen, 6);
}

TEST(OpenApi, RequiredNamesAreProperties) {
    json doc = openapi_v2();
    for (const auto &[name, schema] : doc["definitions"].items()) {
        ASSERT_TRUE(schema["type"].is_string()) << name;
        EXPECT_TRUE(schema["description"].is_string()) << name;
        for (const json &r : schema.value("required", json::array())) {
            EXPECT_TRUE(schema["properties"].contains(r.get<std::string>())) << name << " " << r;
        }
    }
}

// The paths, filled in, are routes the adapter answers, and of the kind they say.
TEST(OpenApi, PathsAreTheAdaptersRoutes) {
    json doc = openapi_v2();
    for (const std::string &v : {kV1, kV2}) {
        auto pods = parse_api_path(fill(v + "namespaces/{namespace}/{resource}/{name}/{metric}",
                                        {{"namespace", "shop"},
                                         {"resource", "pods"},
                                         {"name", "*"},
                                         {"metric", "pulse_error_ratio"}}));
        ASSERT_TRUE(std::holds_alternative<ApiRequest>(pods));
        EXPECT_EQ(std::get<ApiRequest>(pods).kind, RequestKind::pods);
        auto pod = parse_api_path(fill(v + "namespaces/{namespace}/{resource}/{name}/{metric}",
                                       {{"namespace", "shop"},
                                        {"resource", "pods"},
                                        {"name", "web-1"},
                                        {"metric", "pulse_error_ratio"}}));
        ASSERT_TRUE(std::holds_alternative<ApiRequest>(pod));
        EXPECT_EQ(std::get<ApiRequest>(pod).kind, RequestKind::pod);
        for (const std::string &p :
             {fill(v + "namespaces/{namespace}/metrics/{metric}",
                   {{"namespace", "shop"}, {"metric", "pulse_error_ratio"}}),
              fill(v + "{resource}/{name}/{metric}", {{"resource", "namespaces"},
                                                      {"name", "shop"},
                                                      {"metric", "pulse_error_ratio"}})}) {
            auto ns = parse_api_path(p);
            ASSERT_TRUE(std::holds_alternative<ApiRequest>(ns)) << p;
            EXPECT_EQ(std::get<ApiRequest>(ns).kind, RequestKind::namespace_) << p;
            EXPECT_EQ(std::get<ApiRequest>(ns).ns, "shop") << p;
        }
        auto discovery = parse_api_path(v);
        ASSERT_TRUE(std::holds_alternative<ApiRequest>(discovery));
        EXPECT_EQ(std::get<ApiRequest>(discovery).kind, RequestKind::discovery);
        EXPECT_EQ(doc["paths"][v]["get"]["responses"]["200"]["schema"]["$ref"],
                  kPrefix + "io.k8s.apimachinery.pkg.apis.meta.v1.APIResourceList");
    }
    auto group = parse_api_path("/apis/custom.metrics.k8s.io/");
    ASSERT_TRUE(std::holds_alternative<ApiRequest>(group));
    EXPECT_EQ(std::get<ApiRequest>(group).kind, RequestKind::group);
}

// The schemas describe what the adapter answers: every field it writes is a property, and
// every required property is written.
TEST(OpenApi, SchemasFitTheAnswers) {
    json doc = openapi_v2();
    const json &defs = doc["definitions"];
    MetricPoint p;
    p.ns = "shop";
    p.name = "web-1";
    p.timestamp_unix = 1e9;
    p.window_seconds = 30;
    p.value = 1.5;
    for (ApiVersion v : {ApiVersion::v1beta1, ApiVersion::v1beta2}) {
        std::string name(version_name(v));
        for (const MetricSelector &selector : {MetricSelector{}, MetricSelector{"web", {}}}) {
            json list = metric_value_list(v, "pulse_error_ratio", selector, {p});
            expect_fits(list, defs[cm_def(name, "MetricValueList")], name + " list");
            const json &item = list["items"][0];
            expect_fits(item, defs[cm_def(name, "MetricValue")], name + " item");
            expect_fits(item["describedObject"], defs["io.k8s.api.core.v1.ObjectReference"],
                        "describedObject");
            const json &sel =
                v == ApiVersion::v1beta1 ? item["selector"] : item["metric"]["selector"];
            if (!sel.is_null()) {
                expect_fits(sel, defs["io.k8s.apimachinery.pkg.apis.meta.v1.LabelSelector"],
                            "selector");
            }
            if (v == ApiVersion::v1beta2) {
                expect_fits(item["metric"], defs[cm_def(name, "MetricIdentifier")], "metric");
            }
        }
        json d = discovery(v);
        expect_fits(d, defs["io.k8s.apimachinery.pkg.apis.meta.v1.APIResourceList"], "discovery");
        expect_fits(d["resources"][0], defs["io.k8s.apimachinery.pkg.apis.meta.v1.APIResource"],
                    "resource");
    }
    json g = api_group();
    expect_fits(g, defs["io.k8s.apimachinery.pkg.apis.meta.v1.APIGroup"], "group");
    expect_fits(g["preferredVersion"],
                defs["io.k8s.apimachinery.pkg.apis.meta.v1.GroupVersionForDiscovery"],
                "preferredVersion");
}

TEST(OpenApi, Deterministic) {
    EXPECT_EQ(openapi_v2().dump(), openapi_v2().dump());
    const OpenApiDocument &served = openapi_v2_document();
    EXPECT_EQ(served.body, openapi_v2().dump() + "\n");
    EXPECT_EQ(json::parse(served.body), openapi_v2());
    EXPECT_EQ(served.etag, entity_tag(served.body));
    EXPECT_EQ(&served, &openapi_v2_document());
}

// ---- serving ---------------------------------------------------------------------------

TEST(OpenApiServing, EntityTag) {
    std::string tag = entity_tag("abc");
    EXPECT_TRUE(std::regex_match(tag, std::regex("\"[0-9a-f]{16}\""))) << tag;
    EXPECT_EQ(tag, entity_tag("abc"));
    EXPECT_NE(tag, entity_tag("abd"));
    EXPECT_EQ(entity_tag(""), "\"cbf29ce484222325\"");  // FNV-1a's offset basis
    EXPECT_EQ(entity_tag("a"), "\"af63dc4c8601ec8c\"");
}

TEST(OpenApiServing, IfNoneMatch) {
    const std::string tag = "\"0123456789abcdef\"";
    EXPECT_TRUE(if_none_match(tag, tag));
    EXPECT_TRUE(if_none_match(" " + tag + " ", tag));
    EXPECT_TRUE(if_none_match("W/" + tag, tag));
    EXPECT_TRUE(if_none_match("*", tag));
    EXPECT_TRUE(if_none_match("\"x\", " + tag, tag));
    EXPECT_TRUE(if_none_match("\"a,b\",W/" + tag, tag));
    EXPECT_TRUE(if_none_match("junk, " + tag, tag));
    EXPECT_FALSE(if_none_match("", tag));
    EXPECT_FALSE(if_none_match("\"x\"", tag));
    EXPECT_FALSE(if_none_match("0123456789abcdef", tag));  // unquoted
    EXPECT_FALSE(if_none_match("\"0123456789ABCDEF\"", tag));
    EXPECT_FALSE(if_none_match("\"0123456789abcdef", tag));
    EXPECT_FALSE(if_none_match("*, \"x\"", tag));
}

TEST(OpenApiServing, AcceptsJson) {
    for (const char *a :
         {"", "application/json", "Application/JSON", "*/*", "application/*",
          "application/json, */*", "application/json;q=0.5",
          "application/com.github.proto-openapi.spec.v2@v1.0+protobuf, application/json",
          "text/html, */*;q=0.1", "application/json; charset=utf-8"}) {
        EXPECT_TRUE(accepts_json(a)) << a;
    }
    for (const char *a : {"application/com.github.proto-openapi.spec.v2@v1.0+protobuf", "text/html",
                          "application/yaml", "application/json;q=0", "application/json;q=0, */*",
                          "*/*;q=0", "application/*;q=0, */*", "application/json;q=bad"}) {
        EXPECT_FALSE(accepts_json(a)) << a;
    }
}

TEST(OpenApiServing, AnswerWithETagAndVary) {
    const OpenApiDocument &doc = openapi_v2_document();
    HttpResponse r = openapi_v2_answer(std::string("application/json"), std::nullopt);
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.content_type, "application/json");
    EXPECT_EQ(r.body, doc.body);
    using Headers = std::vector<std::pair<std::string, std::string>>;
    Headers want = {{"ETag", doc.etag}, {"Vary", "Accept"}, {"Cache-Control", "no-cache"}};
    EXPECT_EQ(r.headers, want);
    EXPECT_EQ(openapi_v2_answer(std::nullopt, std::nullopt).status, 200);

    HttpResponse same = openapi_v2_answer(std::string("application/json"), doc.etag);
    EXPECT_EQ(same.status, 304);
    EXPECT_EQ(same.body, "");
    EXPECT_EQ(same.headers, want);
    EXPECT_EQ(openapi_v2_answer(std::nullopt, std::string("\"0000000000000000\"")).status, 200);
    EXPECT_EQ(openapi_v2_answer(std::nullopt, std::string("*")).status, 304);
}

TEST(OpenApiServing, NotAcceptableIsAStatus) {
    HttpResponse r = openapi_v2_answer(
        std::string("application/com.github.proto-openapi.spec.v2@v1.0+protobuf"), std::nullopt);
    EXPECT_EQ(r.status, 406);
    EXPECT_EQ(r.content_type, "application/json");
    json status = json::parse(r.body);
    EXPECT_EQ(status["kind"], "Status");
    EXPECT_EQ(status["code"], 406);
    EXPECT_EQ(status["reason"], "NotAcceptable");
}

}  // namespace
}  // namespace pulse::sidecar::cm
