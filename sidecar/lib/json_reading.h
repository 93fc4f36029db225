// Reading JSON documents by hand (the Kubernetes API's answers, STATE.json, each sidecar's
// /signals) and naming what was found in error messages. YAML readers (the HPA spec) quote
// and join paths the same way.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

namespace pulse::json_reading {

// The member `key` of `object`, a null one included; nullptr when `object` is not an object
// or has no such member.
template <typename Json>
const Json *find_member(const Json &object, std::string_view key) {
    if (!object.is_object()) return nullptr;
    auto it = object.find(key);
    return it == object.end() ? nullptr : &*it;
}

// The member `key` when it is present and not null.
template <typename Json>
const Json *member(const Json &object, std::string_view key) {
    const Json *m = find_member(object, key);
    return m == nullptr || m->is_null() ? nullptr : m;
}

// `text` as a JSON string, for messages: "a \"b\"" (invalid UTF-8 replaced).
inline std::string quote(std::string_view text) {
    return nlohmann::json(std::string(text))
        .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

// A member's path in messages: ("spec", "replicas") -> "spec.replicas"; ("", "spec") ->
// "spec".
inline std::string join_path(const std::string &path, std::string_view key) {
    return path.empty() ? std::string(key) : path + "." + std::string(key);
}

}  // namespace pulse::json_reading
