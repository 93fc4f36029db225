// A worker's memory of recent classifications. Classifying scans the URL's file name
// character by character; a site serves the same few hundred asset URLs over and over,
// so a direct-mapped table keyed by the URL (hashed from its length and two words,
// confirmed by comparing the bytes) answers repeats for a fraction of the cost.
#pragma once

#include <array>
#include <cstdint>
#include <cstring>
#include <string_view>

#include "core/cache_policy.h"

namespace pulse {

class ClassifyMemo {
  public:
    struct Result {
        AssetClass cls;
        StaticKind kind;
        std::uint16_t ext_size;  // the extension is the last ext_size bytes of the path
    };

    // The answer remembered for exactly this (owner, path, query, content type), or null.
    // `owner` tells policies with different versioned prefixes apart.
    const Result *find(const void *owner, std::string_view path, std::string_view query,
                       std::string_view type) const {
        const Entry &e = entries_[slot(path, query, type)];
        if (e.owner != owner || e.path_size != path.size() || e.query_size != query.size() ||
            e.type_size != type.size()) {
            return nullptr;
        }
        const char *p = e.bytes;
        if (std::memcmp(p, path.data(), path.size()) != 0) return nullptr;
        p += path.size();
        if (!query.empty() && std::memcmp(p, query.data(), query.size()) != 0) return nullptr;
        p += query.size();
        if (!type.empty() && std::memcmp(p, type.data(), type.size()) != 0) return nullptr;
        return &e.result;
    }

    // Remembers an answer; keys too long to keep are not remembered.
    void store(const void *owner, std::string_view path, std::string_view query,
               std::string_view type, Result result) {
        if (path.size() + query.size() + type.size() > kKeyBytes) return;
        Entry &e = entries_[slot(path, query, type)];
        e.owner = owner;
        e.path_size = static_cast<std::uint16_t>(path.size());
        e.query_size = static_cast<std::uint16_t>(query.size());
        e.type_size = static_cast<std::uint16_t>(type.size());
        e.result = result;
        char *p = e.bytes;
        std::memcpy(p, path.data(), path.size());
        p += path.size();
        if (!query.empty()) std::memcpy(p, query.data(), query.size());
        p += query.size();
        if (!type.empty()) std::memcpy(p, type.data(), type.size());
    }

    static constexpr std::size_t kEntries = 512;
    static constexpr std::size_t kKeyBytes = 200;

  private:
    struct Entry {
        const void *owner = nullptr;
        std::uint16_t path_size = 0, query_size = 0, type_size = 0;
        Result result{};
        char bytes[kKeyBytes];
    };

    static std::uint64_t word(std::string_view s, std::size_t at) {
        std::uint64_t w = 0;
        std::memcpy(&w, s.data() + at, 8);
        return w;
    }

    // Length and the last (and first) eight bytes of the path: file names differ there.
    static std::size_t slot(std::string_view path, std::string_view query, std::string_view type) {
        std::uint64_t h =
            path.size() * 0x9e3779b97f4a7c15ULL ^ (query.size() << 17) ^ (type.size() << 29);
        if (path.size() >= 8) {
            h ^= word(path, path.size() - 8) * 0xff51afd7ed558ccdULL;
            h ^= word(path, 0) * 0xc4ceb9fe1a85ec53ULL;
        } else {
            for (char c : path) h = (h ^ static_cast<unsigned char>(c)) * 0x100000001b3ULL;
        }
        h ^= h >> 29;
        return static_cast<std::size_t>(h % kEntries);
    }

    std::array<Entry, kEntries> entries_{};
};

}  // namespace pulse
