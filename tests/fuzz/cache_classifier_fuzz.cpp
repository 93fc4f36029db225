// libFuzzer target for the cache policy (ngx_module/core/cache_policy.cpp) and the worker's
// memory of its answers (classify_memo.h) (tests/fuzz/run.sh runs it).
//
// Input: lines (LF-separated; nginx hands over no LF in a URI or a content type): path,
// query, content type of a first response; the same of a second; a versioned prefix; a
// pulse_cache_rule target and value. Every string is copied into a heap buffer of its exact
// size, so that ASan reports a read past any of them. Checks, beyond no crash:
// - classifying twice gives the same answer, and so does the type_kind overload;
// - the extension is a view into the path, at its end, after a dot, with no slash;
// - class and kind agree (documents have the document kind, untouched ones none, static
//   assets one of the static kinds);
// - CachePolicy::decide is classify then header_for, before and after a rule;
// - a rule's error is a message of printable ASCII, a header value has no control byte
//   (it goes into a response header), a parsed lifetime is 0..2147483647 seconds;
// - the memo answers a URL it stored with the stored answer, another URL never with it,
//   and its content-type memory agrees with kind_from_content_type.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/cache_policy.h"
#include "core/classify_memo.h"

namespace {

using namespace pulse;

[[noreturn]] void broken(const char *what) {
    std::fprintf(stderr, "invariant broken: %s\n", what);
    std::abort();
}

// A string in a heap buffer of exactly its size.
class Exact {
  public:
    explicit Exact(std::string_view s) : size_(s.size()), bytes_(new char[s.size()]) {
        if (!s.empty()) std::memcpy(bytes_.get(), s.data(), s.size());
    }
    std::string_view view() const { return {bytes_.get(), size_}; }

  private:
    std::size_t size_;
    std::unique_ptr<char[]> bytes_;
};

struct Answer {
    AssetClass cls;
    StaticKind kind;
    std::string_view ext;
    bool operator==(const Answer &) const = default;
};

Answer classified(std::string_view path, std::string_view query, std::string_view type,
                  const std::vector<std::string> &prefixes) {
    Answer a{};
    a.cls = classify(path, query, type, prefixes, &a.kind, &a.ext);
    Answer again{};
    again.cls = classify(path, query, type, prefixes, &again.kind, &again.ext);
    if (!(a == again)) broken("classifying twice differs");
    Answer by_kind{};
    by_kind.cls =
        classify(path, query, kind_from_content_type(type), prefixes, &by_kind.kind, &by_kind.ext);
    if (!(a == by_kind)) broken("the type_kind overload differs");

    if (!a.ext.empty()) {
        if (a.ext.data() < path.data() || a.ext.data() + a.ext.size() != path.data() + path.size())
            broken("the extension is not the end of the path");
        if (a.ext.data() == path.data() || a.ext.data()[-1] != '.')
            broken("the extension does not follow a dot");
        if (a.ext.find('/') != std::string_view::npos) broken("the extension has a slash");
    }
    switch (a.cls) {
        case AssetClass::document:
            if (a.kind != StaticKind::document) broken("a document of another kind");
            break;
        case AssetClass::untouched:
            if (a.kind != StaticKind::none) broken("an untouched response with a kind");
            break;
        case AssetClass::static_asset:
            if (a.kind == StaticKind::none || a.kind == StaticKind::document)
                broken("a static asset without a static kind");
            break;
        case AssetClass::fingerprinted:
            if (a.kind == StaticKind::document) broken("a fingerprinted document");
            break;
    }
    return a;
}

bool printable(std::string_view s) {
    for (char c : s) {
        if (c < 0x20 || c > 0x7e) return false;
    }
    return true;
}

void check_policy(const CachePolicy &policy, std::string_view path, std::string_view query,
                  std::string_view type) {
    const Answer a = classified(path, query, type, policy.versioned_prefixes);
    const CachePolicy::Decision d = policy.decide(path, query, kind_from_content_type(type));
    if (d.cls != a.cls || d.kind != a.kind || d.ext_size != a.ext.size())
        broken("decide differs from classify");
    const CacheHeader *h = policy.header_for(a.cls, a.kind, a.ext);
    if (d.header != h) broken("decide's header is not header_for's");
    if (h != nullptr && (!printable(h->cache_control) || (h->max_age && *h->max_age < 0)))
        broken("a header value with a control byte or a negative lifetime");
}

bool same(const ClassifyMemo::Result &a, const ClassifyMemo::Result &b) {
    return a.cls == b.cls && a.kind == b.kind && a.ext_size == b.ext_size && a.header == b.header;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size) {
    std::string_view rest(reinterpret_cast<const char *>(data), size);
    std::vector<Exact> f;
    while (f.size() < 9) {
        const std::size_t lf = rest.find('\n');
        f.emplace_back(rest.substr(0, lf));
        rest = lf == std::string_view::npos ? std::string_view{} : rest.substr(lf + 1);
    }
    const std::string_view path1 = f[0].view(), query1 = f[1].view(), type1 = f[2].view();
    const std::string_view path2 = f[3].view(), query2 = f[4].view(), type2 = f[5].view();

    CachePolicy policy;
    if (!f[6].view().empty()) policy.versioned_prefixes.emplace_back(f[6].view());
    check_policy(policy, path1, query1, type1);
    check_policy(policy, path2, query2, type2);

    const std::string_view target = f[7].view(), value = f[8].view();
    if (auto error = policy.add_rule(target, value)) {
        if (error->empty() || !printable(*error)) broken("a rule's error is not a plain message");
    }
    if (auto seconds = parse_lifetime(value); seconds && (*seconds < 0 || *seconds > 2147483647))
        broken("a lifetime out of range");
    (void)cache_control_forbids_caching(value);
    check_policy(policy, path1, query1, type1);
    check_policy(policy, path2, query2, type2);

    // The memo, fresh for every input (a worker's lives long, but then a finding would not
    // reproduce from its input alone).
    auto memo = std::make_unique<ClassifyMemo>();
    for (std::string_view t : {type1, type2, type1, type2, std::string_view("text/css")}) {
        if (memo->content_type_kind(t) != kind_from_content_type(t))
            broken("the memo's content-type kind differs");
    }
    const CachePolicy::Decision d1 = policy.decide(path1, query1, kind_from_content_type(type1));
    memo->store(&policy, path1, query1, type1, d1);
    const ClassifyMemo::Result *hit = memo->find(&policy, path1, query1, type1);
    const bool fits = path1.size() + query1.size() + type1.size() <= ClassifyMemo::kKeyBytes;
    if (fits && (hit == nullptr || !same(*hit, d1))) broken("the memo lost a stored answer");
    if (!fits && hit != nullptr) broken("the memo answers a URL too long to keep");
    if (memo->find(&policy + 1, path1, query1, type1) != nullptr)
        broken("the memo answers for another policy");
    const bool same_url = path1 == path2 && query1 == query2 && type1 == type2;
    if (!same_url && memo->find(&policy, path2, query2, type2) != nullptr)
        broken("the memo answers a URL with another URL's answer");
    memo->forget(&policy);
    if (memo->find(&policy, path1, query1, type1) != nullptr) broken("a forgotten answer");
    return 0;
}
