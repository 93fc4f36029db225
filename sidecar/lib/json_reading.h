// Reading JSON documents by hand (the Kubernetes API's answers, STATE.json, each sidecar's
// /signals) and naming what was found in error messages. YAML readers (the HPA spec) quote
// and join paths the same way.
#pragma once

#include <cstddef>
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

// How deep the documents read from peers may nest arrays and objects. A Pod, managedFields
// included, is some 20 levels deep; a /signals document 5. Beyond, a document is refused
// before it is parsed: nested a million deep, 2 MB of brackets parse into a million
// nested values of some 70 bytes each (140 MB), and a 64 MiB answer into gigabytes.
inline constexpr std::size_t kMaxNesting = 128;

// True when no array or object in `text` is nested deeper than `limit` (brackets inside
// strings do not count): one pass, no allocation. Says nothing of the rest of the syntax.
inline bool nesting_within(std::string_view text, std::size_t limit = kMaxNesting) {
    std::size_t depth = 0;
    bool in_string = false, escaped = false;
    for (char c : text) {
        if (in_string) {
            if (escaped) {
                escaped = false;
            } else if (c == '\\') {
                escaped = true;
            } else if (c == '"') {
                in_string = false;
            }
        } else if (c == '"') {
            in_string = true;
        } else if (c == '[' || c == '{') {
            if (++depth > limit) return false;
        } else if ((c == ']' || c == '}') && depth > 0) {
            --depth;
        }
    }
    return true;
}

// A member's path in messages: ("spec", "replicas") -> "spec.replicas"; ("", "spec") ->
// "spec".
inline std::string join_path(const std::string &path, std::string_view key) {
    return path.empty() ? std::string(key) : path + "." + std::string(key);
}

}  // namespace pulse::json_reading
