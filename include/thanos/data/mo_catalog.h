#pragma once
// GNU gettext message catalogs (.mo), read from the binary format directly so that building the
// bundled corpus needs no gettext tools. Layout (all fields 32-bit, in the file's byte order):
//   0 magic 0x950412de, 4 revision, 8 string count N, 12 offset O of the original-string table,
//   16 offset T of the translation table, 20/24 hash table size/offset (unused here).
// Each table holds N (length, offset) pairs; strings are NUL-terminated, the length excludes NUL.
// A context is stored as `context \x04 msgid`; a plural entry as `msgid \0 msgid_plural` with
// `msgstr[0] \0 msgstr[1] ...`.
#include <cstdint>
#include <string>
#include <vector>

namespace thanos {

struct MoEntry {
  bool has_context = false;
  std::string context;              // msgctxt (meaningful when has_context)
  std::string msgid;                // the original (English) string; empty for the header entry
  std::string msgid_plural;         // empty unless is_plural()
  std::vector<std::string> msgstr;  // one translation, or one per plural form
  bool is_plural() const { return msgstr.size() > 1 || !msgid_plural.empty(); }
  bool is_header() const { return !has_context && msgid.empty(); }
};

struct MoCatalog {
  std::string source;            // file name (or what the caller called the bytes), for messages
  bool big_endian = false;       // the byte order the file was written in
  std::uint32_t revision = 0;    // major << 16 | minor; majors 0 and 1 are read
  std::vector<MoEntry> entries;  // in file order (msgfmt sorts by msgid)

  // The header entry's "Name: value" field (e.g. "Content-Type"); empty when absent.
  std::string header_field(const std::string& name) const;
  // The charset from the header's Content-Type, lowercased; "" when the header names none.
  std::string charset() const;
};

// Throws std::invalid_argument naming `source_name` and what is wrong (bad magic, unsupported
// revision, a table or string that runs past the end of the data, ...).
MoCatalog parse_mo_catalog(const std::string& bytes, const std::string& source_name);
MoCatalog read_mo_catalog(const std::string& path);

}  // namespace thanos
