// The OpenAPI v2 (Swagger 2.0) document of the custom metrics API and how it is served at
// /openapi/v2. kube-apiserver's aggregator fetches it from every APIService's server (with
// Accept: application/json, and If-None-Match with the last ETag) and merges it into the
// cluster's own document, which `kubectl explain` and API clients read; a server that has
// none gets "loading OpenAPI spec ... failed" logged for each APIService, again and again.
// Pure functions: `pulse-sidecar adapter` (sidecar/app/adapter.cpp) routes the request.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "http_message.h"

namespace pulse::sidecar::cm {

inline constexpr std::string_view kOpenApiPath = "/openapi/v2";

// The document, as adapters built on k8s.io/apiserver and custom-metrics-apiserver shape
// it: the GET routes of both versions under /apis/custom.metrics.k8s.io (the group, each
// version's discovery, the three metric routes with their parameters), and the
// definitions they return under the names Kubernetes gives them
// (io.k8s.metrics.pkg.apis.custom_metrics.v1beta2.MetricValueList, ...), the API's kinds
// with their x-kubernetes-group-version-kind. Every $ref names one of its definitions, and
// every definition is reached from a path (the aggregator drops the others). The same
// document every time: its objects' keys are sorted.
nlohmann::json openapi_v2();

// What is served: the document's JSON (compact, with a final newline) and its strong
// ETag, a quoted hash of those bytes. Built once.
struct OpenApiDocument {
    std::string body;
    std::string etag;
};
const OpenApiDocument &openapi_v2_document();

// A quoted entity tag for these bytes: "\"" + 16 hex digits + "\"" (64-bit FNV-1a).
std::string entity_tag(std::string_view body);

// True when an If-None-Match value names `etag`: "*", or a list of entity tags one of
// which equals it under the weak comparison (a W/ prefix is ignored).
bool if_none_match(std::string_view header, std::string_view etag);

// True when an Accept value admits application/json: its most specific matching media
// range (application/json, application/*, */*) has a q above 0. No header admits it.
bool accepts_json(std::string_view accept);

// The answer to GET or HEAD /openapi/v2 (the caller has checked the client): 200 with the
// document, its ETag, Vary: Accept and Cache-Control: no-cache; 304 with the ETag and no
// body when If-None-Match names it; 406 (a Status) when Accept admits no JSON.
HttpResponse openapi_v2_answer(const std::optional<std::string> &accept,
                               const std::optional<std::string> &if_none_match_header);

}  // namespace pulse::sidecar::cm
