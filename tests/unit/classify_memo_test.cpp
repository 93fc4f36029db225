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

}  // namespace
