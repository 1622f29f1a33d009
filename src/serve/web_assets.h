#pragma once
// The web page's files (web/), compiled into the binary by cmake/embed_web.cmake so that
// pconv serve works offline from any folder.
#include <cstddef>

namespace pconv {

struct WebAsset {
  const char* path;          ///< URL path, "/index.html"
  const char* content_type;  ///< with charset for text
  const unsigned char* data;
  size_t size;
};

extern const WebAsset kWebAssets[];
extern const size_t kWebAssetCount;

}  // namespace pconv
