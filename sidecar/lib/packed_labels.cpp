#include "packed_labels.h"

namespace pulse::sidecar {

namespace {

void put_length(std::string &out, std::size_t n) {
    while (n >= 0x80) {
        out.push_back(static_cast<char>((n & 0x7f) | 0x80));
        n >>= 7;
    }
    out.push_back(static_cast<char>(n));
}

}  // namespace

PackedLabels::PackedLabels(std::span<const LabelView> labels) {
    std::size_t n = 0;
    for (const auto &[name, value] : labels) n += name.size() + value.size() + 2;
    bytes_.reserve(n);
    for (const auto &[name, value] : labels) {
        put_length(bytes_, name.size());
        bytes_.append(name);
        put_length(bytes_, value.size());
        bytes_.append(value);
    }
    bytes_.shrink_to_fit();
}

std::string_view PackedLabels::next(std::size_t &at) const {
    std::size_t n = 0;
    for (int shift = 0;; shift += 7) {
        const auto byte = static_cast<unsigned char>(bytes_[at++]);
        n |= static_cast<std::size_t>(byte & 0x7f) << shift;
        if ((byte & 0x80) == 0) break;
    }
    const std::string_view out(bytes_.data() + at, n);
    at += n;
    return out;
}

promql::Labels PackedLabels::unpack() const {
    promql::Labels out;
    out.reserve(size());
    for_each([&](std::string_view name, std::string_view value) {
        out.emplace_back(std::string(name), std::string(value));
        return true;
    });
    return out;
}

std::optional<std::string_view> PackedLabels::get(std::string_view name) const {
    std::optional<std::string_view> found;
    for_each([&](std::string_view n, std::string_view v) {
        if (n == name) found = v;
        return !found;
    });
    return found;
}

std::size_t PackedLabels::size() const {
    std::size_t n = 0;
    for_each([&](std::string_view, std::string_view) {
        ++n;
        return true;
    });
    return n;
}

bool PackedLabels::equals(std::span<const LabelView> labels) const {
    std::size_t i = 0;
    bool same = true;
    for_each([&](std::string_view name, std::string_view value) {
        same = i < labels.size() && labels[i].first == name && labels[i].second == value;
        ++i;
        return same;
    });
    return same && i == labels.size();
}

std::strong_ordering operator<=>(const PackedLabels &a, const PackedLabels &b) {
    std::size_t at_a = 0, at_b = 0;
    while (at_a < a.bytes_.size() && at_b < b.bytes_.size()) {
        const std::string_view an = a.next(at_a), av = a.next(at_a);
        const std::string_view bn = b.next(at_b), bv = b.next(at_b);
        if (auto c = an <=> bn; c != 0) return c;
        if (auto c = av <=> bv; c != 0) return c;
    }
    if (at_a < a.bytes_.size()) return std::strong_ordering::greater;
    if (at_b < b.bytes_.size()) return std::strong_ordering::less;
    return std::strong_ordering::equal;
}

}  // namespace pulse::sidecar
