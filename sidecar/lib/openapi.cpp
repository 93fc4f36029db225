#include "openapi.h"

#include <cctype>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "common/ascii_case.h"
#include "common/signals.h"
#include "common/trim.h"
#include "custom_metrics.h"

namespace pulse::sidecar::cm {

using nlohmann::json;

namespace {

constexpr const char *kJson = "application/json";

// ---- definitions ---------------------------------------------------------------------

std::string meta_v1(std::string_view kind) {
    return "io.k8s.apimachinery.pkg.apis.meta.v1." + std::string(kind);
}

std::string custom_metrics(ApiVersion v, std::string_view kind) {
    return "io.k8s.metrics.pkg.apis.custom_metrics." + std::string(version_name(v)) + "." +
           std::string(kind);
}

const std::string kQuantity = "io.k8s.apimachinery.pkg.api.resource.Quantity";
const std::string kObjectReference = "io.k8s.api.core.v1.ObjectReference";

json ref_to(const std::string &definition) {
    return {{"$ref", "#/definitions/" + definition}};
}

json ref_to(const std::string &definition, std::string_view description) {
    json r = ref_to(definition);
    r["description"] = description;
    return r;
}

json scalar(const char *type, std::string_view description, const char *format = nullptr) {
    json s = {{"type", type}, {"description", description}};
    if (format != nullptr) s["format"] = format;
    return s;
}

json array_of(json items, std::string_view description) {
    return {{"type", "array"}, {"description", description}, {"items", std::move(items)}};
}

json object(std::string_view description, json properties, std::vector<std::string> required = {}) {
    json o = {
        {"type", "object"}, {"description", description}, {"properties", std::move(properties)}};
    if (!required.empty()) o["required"] = required;
    return o;
}

json gvk(std::string_view group, std::string_view version, std::string_view kind) {
    return json::array({{{"group", group}, {"version", version}, {"kind", kind}}});
}

// kind and apiVersion, which every top-level API object carries.
void type_meta(json &properties) {
    properties["kind"] = scalar("string", "The kind of this object, in CamelCase.");
    properties["apiVersion"] =
        scalar("string", "The group and version this object is expressed in (GROUP/VERSION).");
}

json shared_definitions() {
    json d;
    d[kQuantity] = {
        {"type", "string"},
        {"description",
         "A fixed-point number as a string: digits with an optional suffix, a decimal SI "
         "prefix (m, k, M, ...) or a binary one (Ki, Mi, ...). The custom metrics API writes "
         "values in milli-units: \"1500m\" is 1.5."}};
    d[meta_v1("Time")] = {{"type", "string"},
                          {"format", "date-time"},
                          {"description", "A point in time, RFC 3339 in UTC with whole seconds."}};
    d[kObjectReference] = object(
        "Names one Kubernetes object.",
        {{"kind", scalar("string", "The object's kind: Pod, Namespace, ...")},
         {"apiVersion", scalar("string", "The object's API version (\"/v1\" for the core group).")},
         {"namespace",
          scalar("string", "The object's namespace; absent for cluster-scoped objects.")},
         {"name", scalar("string", "The object's name.")},
         {"uid", scalar("string", "The object's UID.")},
         {"resourceVersion",
          scalar("string", "The object's version this reference was made from.")},
         {"fieldPath", scalar("string", "A part of the object, when the reference is to one.")}});
    d[meta_v1("ListMeta")] = object(
        "What a list carries besides its items.",
        {{"resourceVersion", scalar("string", "The version of the list, for watching from it.")},
         {"continue", scalar("string", "Where the next page starts when the list is paged.")},
         {"remainingItemCount",
          scalar("integer", "How many items the pages after this one hold.", "int64")},
         {"selfLink", scalar("string", "Deprecated: not set.")}});
    d[meta_v1("LabelSelector")] = object(
        "Selects by labels: an object matches when it has every label of matchLabels and meets "
        "every requirement of matchExpressions.",
        {{"matchLabels",
          {{"type", "object"},
           {"description", "Labels a match has, name to value."},
           {"additionalProperties", {{"type", "string"}}}}},
         {"matchExpressions",
          array_of(ref_to(meta_v1("LabelSelectorRequirement")), "Requirements a match meets.")}});
    d[meta_v1("LabelSelector")]["x-kubernetes-map-type"] = "atomic";
    d[meta_v1("LabelSelectorRequirement")] =
        object("One requirement on a label's value.",
               {{"key", scalar("string", "The label's name.")},
                {"operator", scalar("string", "In, NotIn, Exists or DoesNotExist.")},
                {"values", array_of({{"type", "string"}},
                                    "The values for In and NotIn; empty for Exists and "
                                    "DoesNotExist.")}},
               {"key", "operator"});

    // Discovery.
    json group = {{"name", scalar("string", "The group's name.")},
                  {"versions", array_of(ref_to(meta_v1("GroupVersionForDiscovery")),
                                        "The versions the server serves.")},
                  {"preferredVersion",
                   ref_to(meta_v1("GroupVersionForDiscovery"), "The version clients should use.")},
                  {"serverAddressByClientCIDRs",
                   array_of(ref_to(meta_v1("ServerAddressByClientCIDR")),
                            "Addresses of the server by the clients' networks.")}};
    type_meta(group);
    d[meta_v1("APIGroup")] =
        object("An API group and its versions.", std::move(group), {"name", "versions"});
    d[meta_v1("APIGroup")]["x-kubernetes-group-version-kind"] = gvk("", "v1", "APIGroup");
    d[meta_v1("GroupVersionForDiscovery")] =
        object("One version of a group.",
               {{"groupVersion", scalar("string", "GROUP/VERSION.")},
                {"version", scalar("string", "The version.")}},
               {"groupVersion", "version"});
    d[meta_v1("ServerAddressByClientCIDR")] =
        object("The server's address for clients of a network.",
               {{"clientCIDR", scalar("string", "The clients' network.")},
                {"serverAddress", scalar("string", "HOST:PORT or IP:PORT.")}},
               {"clientCIDR", "serverAddress"});
    json list = {{"groupVersion", scalar("string", "GROUP/VERSION of the resources.")},
                 {"resources", array_of(ref_to(meta_v1("APIResource")), "The resources.")}};
    type_meta(list);
    d[meta_v1("APIResourceList")] = object("The resources of one group version.", std::move(list),
                                           {"groupVersion", "resources"});
    d[meta_v1("APIResourceList")]["x-kubernetes-group-version-kind"] =
        gvk("", "v1", "APIResourceList");
    d[meta_v1("APIResource")] = object(
        "One resource. In the custom metrics API a resource is RESOURCE/METRIC: the metric "
        "METRIC of objects of the resource RESOURCE.",
        {{"name", scalar("string", "The resource's name.")},
         {"singularName", scalar("string", "The singular name.")},
         {"namespaced", scalar("boolean", "Whether its objects live in namespaces.")},
         {"group", scalar("string", "Its group, when not the list's.")},
         {"version", scalar("string", "Its version, when not the list's.")},
         {"kind", scalar("string", "The kind of the objects it answers with.")},
         {"verbs", array_of({{"type", "string"}}, "What can be done with it.")},
         {"shortNames", array_of({{"type", "string"}}, "Short names for it.")},
         {"categories", array_of({{"type", "string"}}, "Groups of resources it belongs to.")},
         {"storageVersionHash", scalar("string", "A hash of the version it is stored in.")}},
        {"name", "singularName", "namespaced", "kind", "verbs"});
    return d;
}

constexpr std::string_view kWindow =
    "The span in seconds the value was computed over, ending at timestamp: the window of "
    "the pod's sidecar for rates and quantiles; 0 for values read at one instant (requests "
    "in flight, websocket connections, connection saturation).";
constexpr std::string_view kSelector =
    "The metric's label selector as the request gave it in metricLabelSelector: "
    "{\"matchLabels\": {\"server\": NAME}} for one nginx server's signal, null for the pod's.";

json metric_value(ApiVersion v) {
    json p = {{"describedObject", ref_to(kObjectReference,
                                         "The object the value is of: a Pod, or a "
                                         "Namespace for the namespace's value.")},
              {"timestamp", ref_to(meta_v1("Time"),
                                   "When the value was measured: the time of the "
                                   "pod's scrape of nginx it comes from (for a "
                                   "namespace, the oldest of its pods').")},
              {"value", ref_to(kQuantity, "The value, in milli-units.")}};
    type_meta(p);
    std::vector<std::string> required = {"describedObject", "timestamp", "value"};
    if (v == ApiVersion::v1beta1) {
        p["metricName"] = scalar("string", "The metric: one of pulse's signals.");
        p["window"] = scalar("integer", kWindow, "int64");
        p["selector"] = ref_to(meta_v1("LabelSelector"), kSelector);
        required.insert(required.begin() + 1, "metricName");
    } else {
        p["metric"] = ref_to(custom_metrics(v, "MetricIdentifier"), "The metric.");
        p["windowSeconds"] = scalar("integer", kWindow, "int64");
        required.insert(required.begin() + 1, "metric");
    }
    json o = object("The value of a metric for one object.", std::move(p), required);
    o["x-kubernetes-group-version-kind"] = gvk(kGroup, version_name(v), "MetricValue");
    return o;
}

json metric_value_list(ApiVersion v) {
    json p = {{"metadata", ref_to(meta_v1("ListMeta"))},
              {"items", array_of(ref_to(custom_metrics(v, "MetricValue")),
                                 "The metric's value for each object that has a fresh one.")}};
    type_meta(p);
    json o = object("The values of one metric for a set of objects.", std::move(p), {"items"});
    o["x-kubernetes-group-version-kind"] = gvk(kGroup, version_name(v), "MetricValueList");
    return o;
}

json definitions() {
    json d = shared_definitions();
    for (ApiVersion v : {ApiVersion::v1beta1, ApiVersion::v1beta2}) {
        d[custom_metrics(v, "MetricValue")] = metric_value(v);
        d[custom_metrics(v, "MetricValueList")] = metric_value_list(v);
    }
    d[custom_metrics(ApiVersion::v1beta2, "MetricIdentifier")] =
        object("Names a metric and, optionally, the label selector it was asked for with.",
               {{"name", scalar("string", "The metric: one of pulse's signals.")},
                {"selector", ref_to(meta_v1("LabelSelector"), kSelector)}},
               {"name"});
    return d;
}

// ---- paths ---------------------------------------------------------------------------

json path_parameter(const char *name, std::string_view description) {
    return {{"name", name},
            {"in", "path"},
            {"required", true},
            {"type", "string"},
            {"description", description}};
}

json query_parameter(const char *name, std::string_view description) {
    return {{"name", name}, {"in", "query"}, {"type", "string"}, {"description", description}};
}

json metric_parameter() {
    json p = path_parameter("metric", "The metric: one of pulse's signals.");
    json names = json::array();
    for (const common::SignalInfo &s : common::kSignals) names.push_back(s.name);
    p["enum"] = std::move(names);
    return p;
}

// "CustomMetrics" + "V1beta2": the operation ID prefix the apiserver library makes from
// the path, so that the IDs of both versions differ in the aggregated document.
std::string operation_prefix(std::optional<ApiVersion> v) {
    std::string p = "CustomMetrics";
    if (v) {
        std::string name(version_name(*v));
        name[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(name[0])));
        p += name;
    }
    return p;
}

std::string tag(std::optional<ApiVersion> v) {
    return v ? "customMetrics_" + std::string(version_name(*v)) : std::string("customMetrics");
}

json get_operation(std::string operation_id, std::optional<ApiVersion> v,
                   std::string_view description, const std::string &answer) {
    return {{"get",
             {{"operationId", std::move(operation_id)},
              {"description", description},
              {"tags", json::array({tag(v)})},
              {"schemes", json::array({"https"})},
              {"consumes", json::array({"*/*"})},
              {"produces", json::array({kJson})},
              {"responses",
               {{"200", {{"description", "OK"}, {"schema", ref_to(answer)}}},
                {"401", {{"description", "Unauthorized"}}}}}}}};
}

constexpr std::string_view kLabelSelector =
    "Selects the pods by their labels (name=*): passed to the Kubernetes API's pod list.";
constexpr std::string_view kNamespacePods =
    "Selects the pods whose values count (else the adapter's --namespace-pod-selector).";
constexpr std::string_view kMetricLabelSelector =
    "server=NAME: the signal of the pods' nginx server NAME instead of the pod's own. "
    "Anything else is answered 400.";

json paths() {
    json p;
    std::string root = "/apis/" + std::string(kGroup) + "/";
    p[root] = get_operation("get" + operation_prefix(std::nullopt) + "APIGroup", std::nullopt,
                            "The group and its versions.", meta_v1("APIGroup"));
    for (ApiVersion v : {ApiVersion::v1beta1, ApiVersion::v1beta2}) {
        std::string base = root + std::string(version_name(v)) + "/";
        std::string prefix = operation_prefix(v);
        std::string list = custom_metrics(v, "MetricValueList");
        p[base] =
            get_operation("get" + prefix + "APIResources", v,
                          "The metrics: RESOURCE/METRIC for each.", meta_v1("APIResourceList"));

        json namespaced = get_operation(
            "list" + prefix + "NamespacedMetricValue", v,
            "A metric's value for a namespaced object, or for every object labelSelector "
            "selects when the name is *. pulse has its signals for pods, leaving out pods "
            "that are not running or whose numbers are not fresh; other resources have no "
            "metric (404).",
            list);
        namespaced["parameters"] = {
            path_parameter("namespace", "The objects' namespace."),
            path_parameter("resource", "The objects' resource: pods."),
            path_parameter("name",
                           "The object's name, or * for every object labelSelector selects."),
            metric_parameter(),
            query_parameter("labelSelector", kLabelSelector),
            query_parameter("metricLabelSelector", kMetricLabelSelector)};
        p[base + "namespaces/{namespace}/{resource}/{name}/{metric}"] = std::move(namespaced);

        json of_namespace = get_operation(
            "read" + prefix + "MetricValueForNamespace", v,
            "A metric's value for the namespace itself: pulse combines its pods' fresh values "
            "(the sum for requests per second, requests in flight and websocket connections, "
            "the largest value for the others).",
            list);
        of_namespace["parameters"] = {path_parameter("namespace", "The namespace."),
                                      metric_parameter(),
                                      query_parameter("labelSelector", kNamespacePods),
                                      query_parameter("metricLabelSelector", kMetricLabelSelector)};
        p[base + "namespaces/{namespace}/metrics/{metric}"] = std::move(of_namespace);

        json cluster_scoped = get_operation(
            "list" + prefix + "MetricValue", v,
            "A metric's value for a cluster-scoped object. pulse answers namespaces/NAME/METRIC "
            "(the namespace's value, as .../namespaces/NAME/metrics/METRIC does); other "
            "resources have no metric (404).",
            list);
        cluster_scoped["parameters"] = {
            path_parameter("resource", "The object's resource: namespaces."),
            path_parameter("name", "The object's name."), metric_parameter(),
            query_parameter("labelSelector", kNamespacePods),
            query_parameter("metricLabelSelector", kMetricLabelSelector)};
        p[base + "{resource}/{name}/{metric}"] = std::move(cluster_scoped);
    }
    return p;
}

// ---- headers -------------------------------------------------------------------------

using common::trim;

// The q of a media range's parameters ("; q=0.5; level=1"): 1 without one, 0 for a bad one.
double quality(std::string_view params) {
    while (!params.empty()) {
        std::size_t semi = params.find(';');
        std::string_view p = trim(params.substr(0, semi));
        params = semi == std::string_view::npos ? std::string_view() : params.substr(semi + 1);
        std::size_t eq = p.find('=');
        if (eq == std::string_view::npos || common::lowercase(trim(p.substr(0, eq))) != "q")
            continue;
        std::string value(trim(p.substr(eq + 1)));
        char *end = nullptr;
        double q = std::strtod(value.c_str(), &end);
        if (value.empty() || end != value.c_str() + value.size() || !(q >= 0 && q <= 1)) return 0;
        return q;
    }
    return 1;
}

}  // namespace

json openapi_v2() {
    return {
        {"swagger", "2.0"},
        {"info",
         {{"title", "pulse-sidecar adapter: " + std::string(kGroup)}, {"version", "unversioned"}}},
        {"paths", paths()},
        {"definitions", definitions()}};
}

std::string entity_tag(std::string_view body) {
    std::uint64_t h = 14695981039346656037ULL;
    for (char c : body) {
        h ^= static_cast<unsigned char>(c);
        h *= 1099511628211ULL;
    }
    char buf[24];
    std::snprintf(buf, sizeof buf, "\"%016llx\"", static_cast<unsigned long long>(h));
    return buf;
}

const OpenApiDocument &openapi_v2_document() {
    static const OpenApiDocument doc = [] {
        OpenApiDocument d;
        d.body = openapi_v2().dump() + "\n";
        d.etag = entity_tag(d.body);
        return d;
    }();
    return doc;
}

bool if_none_match(std::string_view header, std::string_view etag) {
    auto opaque = [](std::string_view tag) {
        if (tag.substr(0, 2) == "W/") tag.remove_prefix(2);
        return tag;
    };
    std::string_view want = opaque(etag);
    std::string_view rest = trim(header);
    if (rest == "*") return true;
    while (!rest.empty()) {
        rest = trim(rest);
        if (!rest.empty() && rest.front() == ',') {
            rest.remove_prefix(1);
            continue;
        }
        std::size_t start = rest.substr(0, 2) == "W/" ? 2 : 0;
        if (rest.size() > start && rest[start] == '"') {
            std::size_t close = rest.find('"', start + 1);
            if (close == std::string_view::npos) return false;
            if (rest.substr(start, close + 1 - start) == want) return true;
            rest.remove_prefix(close + 1);
        } else {
            std::size_t comma = rest.find(',');
            if (comma == std::string_view::npos) return false;
            rest.remove_prefix(comma + 1);
        }
    }
    return false;
}

bool accepts_json(std::string_view accept) {
    if (trim(accept).empty()) return true;
    int best = -1;  // 2: application/json, 1: application/*, 0: */*
    double q = 0;
    while (!accept.empty()) {
        std::size_t comma = accept.find(',');
        std::string_view range = accept.substr(0, comma);
        accept = comma == std::string_view::npos ? std::string_view() : accept.substr(comma + 1);
        std::size_t semi = range.find(';');
        std::string type = common::lowercase(trim(range.substr(0, semi)));
        int specificity = type == "application/json" ? 2
                          : type == "application/*"  ? 1
                          : type == "*/*"            ? 0
                                                     : -1;
        if (specificity <= best) continue;
        best = specificity;
        q = quality(semi == std::string_view::npos ? std::string_view() : range.substr(semi + 1));
    }
    return best >= 0 && q > 0;
}

HttpResponse openapi_v2_answer(const std::optional<std::string> &accept,
                               const std::optional<std::string> &if_none_match_header) {
    if (accept && !accepts_json(*accept)) {
        ApiError e = api_error(406, "the OpenAPI document is served as application/json only");
        return {406, kJson, status_json(e).dump() + "\n", {}};
    }
    const OpenApiDocument &doc = openapi_v2_document();
    std::vector<std::pair<std::string, std::string>> headers = {
        {"ETag", doc.etag}, {"Vary", "Accept"}, {"Cache-Control", "no-cache"}};
    if (if_none_match_header && if_none_match(*if_none_match_header, doc.etag)) {
        return {304, kJson, "", std::move(headers)};
    }
    return {200, kJson, doc.body, std::move(headers)};
}

}  // namespace pulse::sidecar::cm
