#include "core/classify_memo.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>

namespace {

using pulse::AssetClass;
using pulse::ClassifyMemo;
using pulse::StaticKind;

const int kOwnerA = 0, kOwnerB = 0;

TEST(ClassifyMemo, RemembersExactlyTheKeyItWasGiven) {
    auto memo = std::make_unique<ClassifyMemo>();
    EXPECT_EQ(memo->find(&kOwnerA, "/a/app.3f2a9c1b.js", "", "text/javascript"), nullptr);
    memo->store(&kOwnerA, "/a/app.3f2a9c1b.js", "", "text/javascript",
                {AssetClass::fingerprinted, StaticKind::script, 2});
    const auto *r = memo->find(&kOwnerA, "/a/app.3f2a9c1b.js", "", "text/javascript");
    ASSERT_NE(r, nullptr);
    EXPECT_EQ(r->cls, AssetClass::fingerprinted);
    EXPECT_EQ(r->kind, StaticKind::script);
    EXPECT_EQ(r->ext_size, 2);

    // Any difference in the key misses.
    EXPECT_EQ(memo->find(&kOwnerB, "/a/app.3f2a9c1b.js", "", "text/javascript"), nullptr);
    EXPECT_EQ(memo->find(&kOwnerA, "/a/app.3f2a9c1b.js", "v=1", "text/javascript"), nullptr);
    EXPECT_EQ(memo->find(&kOwnerA, "/a/app.3f2a9c1b.js", "", "text/html"), nullptr);
    EXPECT_EQ(memo->find(&kOwnerA, "/b/app.3f2a9c1b.js", "", "text/javascript"), nullptr);
    EXPECT_EQ(memo->find(&kOwnerA, "/a/app.3f2a9c1c.js", "", "text/javascript"), nullptr);
}

TEST(ClassifyMemo, SameSlotDifferentBytesIsAMissNotAWrongAnswer) {
    // Same length, same first and last eight bytes: the slot is shared, the bytes differ.
    auto memo = std::make_unique<ClassifyMemo>();
    memo->store(&kOwnerA, "/static/aaaa/logo.png", "", "image/png",
                {AssetClass::static_asset, StaticKind::image, 3});
    EXPECT_EQ(memo->find(&kOwnerA, "/static/bbbb/logo.png", "", "image/png"), nullptr);
    memo->store(&kOwnerA, "/static/bbbb/logo.png", "", "image/png",
                {AssetClass::untouched, StaticKind::none, 3});
    ASSERT_NE(memo->find(&kOwnerA, "/static/bbbb/logo.png", "", "image/png"), nullptr);
    EXPECT_EQ(memo->find(&kOwnerA, "/static/bbbb/logo.png", "", "image/png")->cls,
              AssetClass::untouched);
}

TEST(ClassifyMemo, ShortAndOverlongKeys) {
    auto memo = std::make_unique<ClassifyMemo>();
    memo->store(&kOwnerA, "/a.js", "", "", {AssetClass::static_asset, StaticKind::script, 2});
    EXPECT_NE(memo->find(&kOwnerA, "/a.js", "", ""), nullptr);
    std::string long_path = "/" + std::string(ClassifyMemo::kKeyBytes, 'x') + ".js";
    memo->store(&kOwnerA, long_path, "", "", {AssetClass::static_asset, StaticKind::script, 2});
    EXPECT_EQ(memo->find(&kOwnerA, long_path, "", ""), nullptr);  // not kept, never wrong
}

TEST(ClassifyMemo, RemembersThePolicysHeaderUntilThePolicyGoes) {
    auto memo = std::make_unique<ClassifyMemo>();
    pulse::CachePolicy policy;
    const auto decision = policy.decide("/app.3f2a9c1b.js", "", StaticKind::script);
    ASSERT_NE(decision.header, nullptr);
    EXPECT_EQ(decision.header->cache_control, "public, max-age=31536000, immutable");

    std::size_t at = ClassifyMemo::slot("/app.3f2a9c1b.js", "", "text/javascript");
    memo->store(at, &policy, "/app.3f2a9c1b.js", "", "text/javascript", decision);
    memo->store(&kOwnerB, "/other.css", "", "text/css",
                {AssetClass::static_asset, StaticKind::style, 3});
    const auto *r = memo->find(at, &policy, "/app.3f2a9c1b.js", "", "text/javascript");
    ASSERT_NE(r, nullptr);
    EXPECT_EQ(r->header, decision.header);
    EXPECT_EQ(memo->find(&policy, "/app.3f2a9c1b.js", "", "text/javascript"), r);  // same slot

    // The policy's configuration is released: nothing of it is found again, even by a
    // policy later made at the same address; other owners' answers stay.
    memo->forget(&policy);
    EXPECT_EQ(memo->find(&policy, "/app.3f2a9c1b.js", "", "text/javascript"), nullptr);
    EXPECT_NE(memo->find(&kOwnerB, "/other.css", "", "text/css"), nullptr);
}

TEST(ClassifyMemo, ContentTypeKindsAreRememberedAndAlwaysRight) {
    auto memo = std::make_unique<ClassifyMemo>();
    const std::string long_type = "application/" + std::string(100, 'x') + "+json";
    const std::string_view types[] = {"application/javascript",
                                      "text/css",
                                      "text/html",
                                      "image/png",
                                      "",
                                      "TEXT/HTML; charset=utf-8",
                                      "application/ld+json",
                                      long_type,
                                      "font/woff2",
                                      "video/mp4",
                                      "text/plain"};
    // Twice round, more types than it keeps: every answer is kind_from_content_type's.
    for (int round = 0; round < 2; ++round) {
        for (auto t : types) {
            SCOPED_TRACE(std::string(t));
            EXPECT_EQ(memo->content_type_kind(t), pulse::kind_from_content_type(t));
            EXPECT_EQ(memo->content_type_kind(t), pulse::kind_from_content_type(t));
        }
    }
    // A response without a content type (a 304) has a null one.
    EXPECT_EQ(memo->content_type_kind(std::string_view{}), StaticKind::none);
    memo->store(&kOwnerA, "/a.js", std::string_view{}, std::string_view{},
                {AssetClass::static_asset, StaticKind::script, 2});
    EXPECT_NE(memo->find(&kOwnerA, "/a.js", std::string_view{}, std::string_view{}), nullptr);
    // Same length, other bytes.
    EXPECT_EQ(memo->content_type_kind("image/png"), StaticKind::image);
    EXPECT_EQ(memo->content_type_kind("text/html"), StaticKind::document);
    EXPECT_EQ(memo->content_type_kind("image/pnh"), StaticKind::image);
    EXPECT_EQ(memo->content_type_kind("text/htmm"), StaticKind::none);
}

}  // namespace
