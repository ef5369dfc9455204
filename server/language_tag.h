#ifndef CLIENTREG_SERVER_LANGUAGE_TAG_H_
#define CLIENTREG_SERVER_LANGUAGE_TAG_H_

#include <string_view>

namespace clientreg::server {

// True if `tag` is a well-formed BCP 47 language tag: it matches RFC 5646 §2.1's `Language-Tag` ABNF (a langtag
// of language, extlangs, script, region, variants, extensions and private use; a private-use-only `x-...` tag; or
// one of the grandfathered tags), compared case-insensitively, and repeats no variant (§2.2.5) and no extension
// singleton (§2.2.6). Subtags are not looked up in the IANA registry.
bool IsWellFormedLanguageTag(std::string_view tag);

}  // namespace clientreg::server

#endif  // CLIENTREG_SERVER_LANGUAGE_TAG_H_
