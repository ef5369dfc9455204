#include "server/language_tag.h"

#include <algorithm>
#include <cstddef>
#include <set>
#include <string>
#include <vector>

namespace clientreg::server {
namespace {

bool IsAlpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool IsDigit(char c) { return c >= '0' && c <= '9'; }
bool IsAlnum(char c) { return IsAlpha(c) || IsDigit(c); }

bool AllAlpha(std::string_view s) { return std::all_of(s.begin(), s.end(), IsAlpha); }
bool AllDigit(std::string_view s) { return std::all_of(s.begin(), s.end(), IsDigit); }

std::string Lower(std::string_view s) {
  std::string lower(s);
  for (char& c : lower) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return lower;
}

// RFC 5646 §2.1 `irregular`: grandfathered tags that the langtag rule does not match. The `regular` ones
// (art-lojban, zh-min-nan, ...) match langtag, so they need no list.
constexpr std::string_view kIrregular[] = {
    "en-gb-oed", "i-ami", "i-bnn", "i-default", "i-enochian", "i-hak",     "i-klingon", "i-lux",     "i-mingo",
    "i-navajo",  "i-pwn", "i-tao", "i-tay",     "i-tsu",      "sgn-be-fr", "sgn-be-nl", "sgn-ch-de",
};

bool IsLanguage(std::string_view s) { return s.size() >= 2 && s.size() <= 8 && AllAlpha(s); }
bool IsExtlang(std::string_view s) { return s.size() == 3 && AllAlpha(s); }
bool IsScript(std::string_view s) { return s.size() == 4 && AllAlpha(s); }
bool IsRegion(std::string_view s) { return (s.size() == 2 && AllAlpha(s)) || (s.size() == 3 && AllDigit(s)); }
// variant = 5*8alphanum / (DIGIT 3alphanum)
bool IsVariant(std::string_view s) { return s.size() >= 5 || (s.size() == 4 && IsDigit(s.front())); }
// singleton = any alphanum but "x", which starts the private use part.
bool IsSingleton(std::string_view s) { return s.size() == 1 && s != "x"; }

}  // namespace

bool IsWellFormedLanguageTag(std::string_view tag) {
  const std::string lower = Lower(tag);
  if (std::find(std::begin(kIrregular), std::end(kIrregular), lower) != std::end(kIrregular)) return true;

  // Every subtag of every production is 1*8alphanum; check that once, then match the productions on shape.
  std::vector<std::string_view> subtags;
  std::string_view rest = lower;
  while (true) {
    const size_t dash = rest.find('-');
    const std::string_view subtag = rest.substr(0, dash);
    if (subtag.empty() || subtag.size() > 8 || !std::all_of(subtag.begin(), subtag.end(), IsAlnum)) return false;
    subtags.push_back(subtag);
    if (dash == std::string_view::npos) break;
    rest.remove_prefix(dash + 1);
  }

  size_t i = 0;
  const size_t n = subtags.size();
  const auto private_use = [&]() {  // "x" 1*("-" (1*8alphanum)), to the end of the tag
    return subtags[i] == "x" && i + 1 < n;
  };
  if (private_use()) return true;

  // language = 2*3ALPHA ["-" extlang] / 4ALPHA / 5*8ALPHA, with extlang = 3ALPHA *2("-" 3ALPHA)
  if (!IsLanguage(subtags[i])) return false;
  if (subtags[i++].size() <= 3) {
    for (int extlangs = 0; extlangs < 3 && i < n && IsExtlang(subtags[i]); ++extlangs) ++i;
  }
  if (i < n && IsScript(subtags[i])) ++i;
  if (i < n && IsRegion(subtags[i])) ++i;
  std::set<std::string_view> variants;
  for (; i < n && IsVariant(subtags[i]); ++i) {
    if (!variants.insert(subtags[i]).second) return false;
  }
  // extension = singleton 1*("-" (2*8alphanum))
  std::set<std::string_view> singletons;
  while (i < n && IsSingleton(subtags[i])) {
    if (!singletons.insert(subtags[i++]).second) return false;
    const size_t first = i;
    while (i < n && subtags[i].size() >= 2) ++i;
    if (i == first) return false;
  }
  if (i < n && private_use()) return true;
  return i == n;
}

}  // namespace clientreg::server
