#include "server/language_tag.h"

#include <string>

#include "gtest/gtest.h"

namespace clientreg::server {
namespace {

TEST(LanguageTagTest, AcceptsWellFormedLangtags) {
  for (const char* tag : {
           "en",
           "EN",
           "en-US",
           "en-us",
           "ja-Jpan-JP",
           "zh-Hant",
           "zh-cmn-Hans-CN",  // extlang (RFC 5646 App. A)
           "zh-yue-HK",
           "ar-afb-abc-def",  // up to three extlangs
           "sr-Latn-RS",
           "es-419",
           "de-CH-1901",
           "sl-rozaj-biske",
           "de-CH-1996",  // region, variants
           "hy-Latn-IT-arevela",
           "sl-IT-nedis",
           "en-a-bbb-x-a-ccc",
           "en-US-u-islamcal",
           "de-Latn-DE-u-co-phonebk",
           "en-a-bbb-b-ccc-ddd",
           "qaa-Qaaa-QM-x-southern",
           "en-x-US",
           "x-whatever",
           "x-a-b-c",  // private use
           "abcd",
           "abcdefgh",
           "tlh",
           "en-12345678",
           "i-klingon",
           "I-KLINGON",
           "en-GB-oed",
           "sgn-BE-FR",
           "i-default",  // irregular grandfathered
           "art-lojban",
           "zh-min-nan",
           "zh-hakka",
           "no-bok",  // regular grandfathered
       }) {
    EXPECT_TRUE(IsWellFormedLanguageTag(tag)) << tag;
  }
}

TEST(LanguageTagTest, RefusesIllFormedTags) {
  for (const char* tag : {
           "",
           "!!",
           "e",
           "en-",
           "-en",
           "en--US",
           "en_US",
           "en US",
           "abcdefghi",
           "en-abcdefghi",
           "ja-Jpan-Latn",        // two scripts
           "en-US-GB",            // two regions
           "en-a",                // extension without subtags
           "en-a-b",              // extension subtag of one character
           "en-x",                // private use without subtags
           "x",                   // the same, alone
           "en-x-abcdefghi",      // private use subtag over eight characters
           "ar-afb-abc-def-ghi",  // four extlangs
           "abcd-afb",            // extlang after a four-letter language
           "1en",
           "12",           // language must be letters
           "en-US-123",    // a second region
           "en-US-abc",    // an extlang comes right after the language, not after a region
           "i-notreal",    // not a grandfathered tag, and "i" is no language
           "en-GB-oed-x",  // grandfathered tags take no extra subtags
           "d\xc3\xa9",    // non-ASCII
           "en\n",
       }) {
    EXPECT_FALSE(IsWellFormedLanguageTag(tag)) << tag;
  }
  EXPECT_FALSE(IsWellFormedLanguageTag(std::string("en\0US", 5)));
}

TEST(LanguageTagTest, RefusesRepeatedVariantsAndSingletons) {
  EXPECT_FALSE(IsWellFormedLanguageTag("de-DE-1901-1901"));  // RFC 5646 §2.2.5
  EXPECT_FALSE(IsWellFormedLanguageTag("sl-rozaj-ROZAJ"));
  EXPECT_FALSE(IsWellFormedLanguageTag("en-a-bbb-a-ccc"));  // RFC 5646 §2.2.6
  EXPECT_FALSE(IsWellFormedLanguageTag("en-a-bbb-A-ccc"));
  // Private use subtags may repeat anything.
  EXPECT_TRUE(IsWellFormedLanguageTag("en-x-a-a-1901-1901"));
}

}  // namespace
}  // namespace clientreg::server
