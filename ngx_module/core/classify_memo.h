// A worker's memory of recent classifications. Classifying scans the URL's file name
// character by character; a site serves the same few hundred asset URLs over and over,
// so a direct-mapped table keyed by the URL (hashed from its length and two words,
// confirmed by comparing the bytes) answers repeats for a fraction of the cost: one
// entry compared a word at a time, no call, and with the policy's header remembered too.
#pragma once

#include <array>
#include <cstdint>
#include <cstring>
#include <string_view>

#include "core/cache_policy.h"

namespace pulse {

class ClassifyMemo {
  public:
    // The class, kind and extension size of a URL, and what the owner policy answers
    // for them when the caller stored that (valid while the owner lives: see forget).
    using Result = CachePolicy::Decision;

    // Where the answer for (path, query, content type) is kept, whoever the owner: worked
    // out once for a find and the store after it.
    static std::size_t slot(std::string_view path, std::string_view query, std::string_view type) {
        std::uint64_t h =
            path.size() * 0x9e3779b97f4a7c15ULL ^ (query.size() << 17) ^ (type.size() << 29);
        if (path.size() >= 8) {
            // Length and the last (and first) eight bytes of the path: file names differ there.
            h ^= word(path.data() + path.size() - 8) * 0xff51afd7ed558ccdULL;
            h ^= word(path.data()) * 0xc4ceb9fe1a85ec53ULL;
        } else {
            for (char c : path) h = (h ^ static_cast<unsigned char>(c)) * 0x100000001b3ULL;
        }
        h ^= h >> 29;
        return static_cast<std::size_t>(h % kEntries);
    }

    // The answer remembered for exactly this (owner, path, query, content type), or null.
    // `owner` tells policies with different versioned prefixes apart.
    const Result *find(std::size_t at, const void *owner, std::string_view path,
                       std::string_view query, std::string_view type) const {
        if (path.size() + query.size() + type.size() > kKeyBytes) return nullptr;
        const Entry &e = entries_[at];
        if (e.owner != owner || e.sizes != sizes(path, query, type)) return nullptr;
        const char *p = e.bytes;
        if (!same_bytes(p, path.data(), path.size())) return nullptr;
        p += path.size();
        if (!query.empty() && !same_bytes(p, query.data(), query.size())) return nullptr;
        p += query.size();
        if (!type.empty() && !same_bytes(p, type.data(), type.size())) return nullptr;
        return &e.result;
    }
    const Result *find(const void *owner, std::string_view path, std::string_view query,
                       std::string_view type) const {
        return find(slot(path, query, type), owner, path, query, type);
    }

    // Remembers an answer; keys too long to keep are not remembered.
    void store(std::size_t at, const void *owner, std::string_view path, std::string_view query,
               std::string_view type, Result result) {
        if (path.size() + query.size() + type.size() > kKeyBytes) return;
        Entry &e = entries_[at];
        e.owner = owner;
        e.sizes = sizes(path, query, type);
        e.result = result;
        char *p = e.bytes;
        copy_bytes(p, path.data(), path.size());
        p += path.size();
        copy_bytes(p, query.data(), query.size());
        p += query.size();
        copy_bytes(p, type.data(), type.size());
    }
    void store(const void *owner, std::string_view path, std::string_view query,
               std::string_view type, Result result) {
        store(slot(path, query, type), owner, path, query, type, result);
    }

    // kind_from_content_type(type), remembered for the last few content types seen: a
    // site serves a handful, and a URL the worker has not seen usually has one of them.
    StaticKind content_type_kind(std::string_view type) {
        for (const TypeEntry &t : types_) {
            if (t.size == type.size() && same_bytes(t.bytes, type.data(), type.size()))
                return t.kind;
        }
        StaticKind kind = kind_from_content_type(type);
        if (type.size() <= kTypeBytes) {
            TypeEntry &t = types_[next_type_++ % kTypes];
            t.size = type.size();
            copy_bytes(t.bytes, type.data(), type.size());  // no memcpy from null when empty
            t.kind = kind;
        }
        return kind;
    }

    // Drops every answer stored for `owner`: a policy that goes (its configuration is
    // released on a reload) leaves no pointer to its headers behind, whatever policy is
    // later made at the same address.
    void forget(const void *owner) {
        for (Entry &e : entries_) {
            if (e.owner == owner) e.owner = nullptr;
        }
    }

    static constexpr std::size_t kEntries = 512;
    static constexpr std::size_t kKeyBytes = 200;
    static constexpr std::size_t kTypes = 4, kTypeBytes = 64;

  private:
    struct Entry {
        const void *owner = nullptr;
        std::uint64_t sizes = 0;  // see sizes()
        Result result{};
        char bytes[kKeyBytes];  // path, query and content type, one after another
    };

    struct TypeEntry {
        std::size_t size = ~std::size_t{0};  // no content type has this size: an empty entry
        char bytes[kTypeBytes];
        StaticKind kind = StaticKind::none;
    };

    // The three sizes in one word, each at most kKeyBytes (callers check).
    static std::uint64_t sizes(std::string_view path, std::string_view query,
                               std::string_view type) {
        return path.size() | query.size() << 16 | type.size() << 32;
    }

    static std::uint64_t word(const char *p) {
        std::uint64_t w;
        std::memcpy(&w, p, 8);
        return w;
    }

    // Copies n bytes as same_bytes compares them (short keys: no call to memcpy).
    static void copy_bytes(char *to, const char *from, std::size_t n) {
        if (n >= 8) {
            for (std::size_t i = 0; i + 8 < n; i += 8) std::memcpy(to + i, from + i, 8);
            std::memcpy(to + n - 8, from + n - 8, 8);
            return;
        }
        for (std::size_t i = 0; i < n; ++i) to[i] = from[i];
    }

    // n bytes at a (a stored key) and at b (the request's) are equal: eight at a time,
    // the last word overlapping, never reading outside either.
    static bool same_bytes(const char *a, const char *b, std::size_t n) {
        if (n >= 8) {
            for (std::size_t i = 0; i + 8 < n; i += 8) {
                if (word(a + i) != word(b + i)) return false;
            }
            return word(a + n - 8) == word(b + n - 8);
        }
        for (std::size_t i = 0; i < n; ++i) {
            if (a[i] != b[i]) return false;
        }
        return true;
    }

    std::array<Entry, kEntries> entries_{};
    std::array<TypeEntry, kTypes> types_{};
    unsigned next_type_ = 0;
};

}  // namespace pulse
