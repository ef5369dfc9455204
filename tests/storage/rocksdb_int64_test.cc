#include "storage/rocksdb_int64.h"

#include <cstddef>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "rocksdb/slice.h"
#include "storage/rocksdb_client_store.h"

namespace clientreg::storage {
namespace {

TEST(Int64Test, EncodesEightBytesBigEndian) {
  EXPECT_EQ(EncodeInt64(0), std::string(8, '\0'));
  EXPECT_EQ(EncodeInt64(1), std::string("\0\0\0\0\0\0\0\x01", 8));
  EXPECT_EQ(EncodeInt64(0x0102030405060708), "\x01\x02\x03\x04\x05\x06\x07\x08");
  EXPECT_EQ(EncodeInt64(-1), std::string(8, '\xff'));
  EXPECT_EQ(EncodeInt64(-2), std::string("\xff\xff\xff\xff\xff\xff\xff\xfe", 8));
}

TEST(Int64Test, DecodesWhatItEncodesAndOnlyEightBytes) {
  for (const int64_t value : {int64_t{0}, int64_t{1}, int64_t{-1}, int64_t{1'700'000'000},
                              std::numeric_limits<int64_t>::min(), std::numeric_limits<int64_t>::max()}) {
    EXPECT_EQ(DecodeInt64(EncodeInt64(value)), value);
  }
  EXPECT_EQ(DecodeInt64(""), std::nullopt);
  EXPECT_EQ(DecodeInt64(std::string(7, '\0')), std::nullopt);
  EXPECT_EQ(DecodeInt64(std::string(9, '\0')), std::nullopt);
}

TEST(OrderedInt64Test, EncodesEightBytesBigEndianWithTheSignBitFlipped) {
  EXPECT_EQ(EncodeOrderedInt64(0), std::string("\x80\0\0\0\0\0\0\0", 8));
  EXPECT_EQ(EncodeOrderedInt64(1'700'000'000), std::string("\x80\0\0\0\x65\x53\xf1\x00", 8));
  EXPECT_EQ(EncodeOrderedInt64(-1), std::string("\x7f\xff\xff\xff\xff\xff\xff\xff", 8));
  EXPECT_EQ(EncodeOrderedInt64(std::numeric_limits<int64_t>::min()), std::string(8, '\0'));
  EXPECT_EQ(EncodeOrderedInt64(std::numeric_limits<int64_t>::max()), std::string(8, '\xff'));
}

TEST(OrderedInt64Test, ByteOrderIsNumericOrderAndDecodingInvertsIt) {
  const std::vector<int64_t> ascending = {
      std::numeric_limits<int64_t>::min(), -1'700'000'000, -256, -1, 0, 1, 255, 256, 1'700'000'000,
      std::numeric_limits<int64_t>::max()};
  for (std::size_t i = 0; i < ascending.size(); ++i) {
    EXPECT_EQ(DecodeOrderedInt64(EncodeOrderedInt64(ascending[i])), ascending[i]);
    if (i > 0) {
      EXPECT_LT(EncodeOrderedInt64(ascending[i - 1]), EncodeOrderedInt64(ascending[i])) << ascending[i];
    }
  }
  EXPECT_EQ(DecodeOrderedInt64(std::string(7, '\0')), std::nullopt);
  EXPECT_EQ(DecodeOrderedInt64(std::string(9, '\0')), std::nullopt);
}

// The merged value of `operand` applied to `existing` (none when nullopt), or nullopt when the merge fails.
std::optional<std::string> Merge(const std::optional<std::string>& existing, const std::string& operand) {
  const Int64AddOperator add;
  const std::string existing_bytes = existing.value_or("");
  const rocksdb::Slice existing_slice(existing_bytes);
  std::string merged;
  if (!add.Merge("count/active", existing.has_value() ? &existing_slice : nullptr, operand, &merged, nullptr)) {
    return std::nullopt;
  }
  return merged;
}

TEST(Int64AddOperatorTest, AddsSignedDeltas) {
  EXPECT_EQ(Merge(std::nullopt, EncodeInt64(5)), EncodeInt64(5));
  EXPECT_EQ(Merge(EncodeInt64(5), EncodeInt64(3)), EncodeInt64(8));
  EXPECT_EQ(Merge(EncodeInt64(5), EncodeInt64(-7)), EncodeInt64(-2));
  EXPECT_EQ(Merge(EncodeInt64(std::numeric_limits<int64_t>::max()), EncodeInt64(1)),
            EncodeInt64(std::numeric_limits<int64_t>::min()));
}

TEST(Int64AddOperatorTest, RefusesValuesThatAreNotEightBytes) {
  EXPECT_EQ(Merge(std::string("short"), EncodeInt64(1)), std::nullopt);
  EXPECT_EQ(Merge(EncodeInt64(1), "short"), std::nullopt);
  EXPECT_EQ(Merge(std::nullopt, ""), std::nullopt);
}

TEST(Int64AddOperatorTest, HasTheStableName) {
  EXPECT_STREQ(Int64AddOperator().Name(), "clientreg.int64_add.v1");
  EXPECT_STREQ(NewInt64AddMergeOperator()->Name(), kInt64AddMergeOperatorName);
}

}  // namespace
}  // namespace clientreg::storage
