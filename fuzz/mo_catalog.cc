// GNU gettext .mo catalogs (the bundled corpus' source): parse_mo_catalog on any bytes, then the
// header fields a corpus build reads. The memory a header may make the reader allocate is bounded
// by the harness' -rss_limit_mb.
#include "fuzz_target.h"
#include "thanos/data/mo_catalog.h"

using namespace thanos;
using namespace thanos::fuzz;

THANOS_FUZZ_TARGET(mo_catalog) {
  const std::string bytes = as_text(data, size);
  MoCatalog catalog;
  if (!expect_documented([&] { catalog = parse_mo_catalog(bytes, "fuzz.mo"); }, kInvalidArgument, "fuzz.mo")) return 0;
  std::size_t total = 0;
  for (const MoEntry& e : catalog.entries) {
    total += e.msgid.size() + e.msgid_plural.size() + e.context.size();
    for (const std::string& s : e.msgstr) total += s.size();
  }
  // Strings are slices of the file: together they cannot be much larger than it.
  if (total > 2 * size + 1024) finding("the catalog's strings add up to more than the file");
  (void)catalog.charset();
  (void)catalog.header_field("Content-Type");
  return 0;
}
