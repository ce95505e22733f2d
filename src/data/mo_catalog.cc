#include "thanos/data/mo_catalog.h"

#include <cctype>
#include <stdexcept>

#include "thanos/common/text.h"

namespace thanos {
namespace {

constexpr std::uint32_t kMoMagic = 0x950412de;
constexpr std::size_t kHeaderBytes = 28;  // magic, revision, N, O, T, hash size, hash offset

std::uint32_t read_u32(const std::string& b, std::size_t at, bool big_endian) {
  const auto byte = [&](std::size_t i) { return static_cast<std::uint32_t>(static_cast<unsigned char>(b[at + i])); };
  return big_endian ? (byte(0) << 24 | byte(1) << 16 | byte(2) << 8 | byte(3))
                    : (byte(3) << 24 | byte(2) << 16 | byte(1) << 8 | byte(0));
}

std::vector<std::string> split_nul(const std::string& s) {
  std::vector<std::string> parts;
  std::size_t start = 0;
  for (;;) {
    const std::size_t nul = s.find('\0', start);
    parts.push_back(s.substr(start, nul == std::string::npos ? std::string::npos : nul - start));
    if (nul == std::string::npos) return parts;
    start = nul + 1;
  }
}

}  // namespace

std::string MoCatalog::header_field(const std::string& name) const {
  for (const auto& e : entries) {
    if (!e.is_header() || e.msgstr.empty()) continue;
    const std::string& h = e.msgstr[0];
    std::size_t line = 0;
    while (line < h.size()) {
      std::size_t end = h.find('\n', line);
      if (end == std::string::npos) end = h.size();
      const std::string text = h.substr(line, end - line);
      const std::size_t colon = text.find(':');
      if (colon != std::string::npos && text.substr(0, colon) == name) {
        std::size_t v = colon + 1;
        while (v < text.size() && text[v] == ' ') ++v;
        return text.substr(v);
      }
      line = end + 1;
    }
  }
  return "";
}

std::string MoCatalog::charset() const {
  std::string ct = header_field("Content-Type");
  for (auto& c : ct) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  const std::size_t at = ct.find("charset=");
  if (at == std::string::npos) return "";
  std::string cs = ct.substr(at + 8);
  const std::size_t end = cs.find_first_of("; \t");
  return end == std::string::npos ? cs : cs.substr(0, end);
}

MoCatalog parse_mo_catalog(const std::string& bytes, const std::string& source_name) {
  const std::string where = source_name + ": ";
  if (bytes.size() < kHeaderBytes) {
    throw std::invalid_argument(where + "truncated .mo file: " + std::to_string(bytes.size()) +
                                " bytes, shorter than the 28-byte header");
  }
  MoCatalog cat;
  cat.source = source_name;
  if (read_u32(bytes, 0, false) == kMoMagic) {
    cat.big_endian = false;
  } else if (read_u32(bytes, 0, true) == kMoMagic) {
    cat.big_endian = true;
  } else {
    throw std::invalid_argument(where + "not a .mo file: magic number 0x" + hex64(read_u32(bytes, 0, false)).substr(8) +
                                ", expected 0x950412de (either byte order)");
  }
  cat.revision = read_u32(bytes, 4, cat.big_endian);
  // Major revision 1 adds system-dependent strings in extra tables; the standard tables below
  // are laid out the same, so both majors read. Later majors may change the layout.
  if ((cat.revision >> 16) > 1) {
    throw std::invalid_argument(where + "unsupported .mo revision " + std::to_string(cat.revision >> 16) + "." +
                                std::to_string(cat.revision & 0xffff) + " (this reader knows majors 0 and 1)");
  }
  const std::uint64_t size = bytes.size();
  const std::uint64_t count = read_u32(bytes, 8, cat.big_endian);
  const std::uint64_t tables[2] = {read_u32(bytes, 12, cat.big_endian), read_u32(bytes, 16, cat.big_endian)};
  const char* table_names[2] = {"original-string", "translation"};
  for (int t = 0; t < 2; ++t) {
    if (tables[t] + 8 * count > size) {
      throw std::invalid_argument(where + "truncated .mo file: the " + table_names[t] + " offset table (" +
                                  std::to_string(count) + " entries at offset " + std::to_string(tables[t]) +
                                  ") ends past the end of the file (" + std::to_string(size) + " bytes)");
    }
  }
  // In a catalog msgfmt writes, the strings lie side by side, so together they are no larger than
  // the file. A crafted header can point every entry at the same long string (a 98 KB file asked
  // for 3.9 GB); what the entries copy is capped at twice the file.
  std::uint64_t copied = 0;
  const auto string_at = [&](int t, std::uint64_t i) {
    const std::size_t slot = tables[t] + 8 * i;
    const std::uint64_t len = read_u32(bytes, slot, cat.big_endian);
    const std::uint64_t off = read_u32(bytes, slot + 4, cat.big_endian);
    if (off + len > size) {
      throw std::invalid_argument(where + "truncated .mo file: " + table_names[t] + " string " + std::to_string(i) +
                                  " (" + std::to_string(len) + " bytes at offset " + std::to_string(off) +
                                  ") ends past the end of the file (" + std::to_string(size) + " bytes)");
    }
    copied += len;
    if (copied > 2 * size) {
      throw std::invalid_argument(where + "damaged .mo file: its strings overlap (" + table_names[t] + " string " + std::to_string(i) +
                                  " brings them to " + std::to_string(copied) + " bytes in a file of " + std::to_string(size) + ")");
    }
    return bytes.substr(off, len);
  };
  cat.entries.reserve(count);
  for (std::uint64_t i = 0; i < count; ++i) {
    MoEntry e;
    std::string original = string_at(0, i);
    const std::size_t eot = original.find('\x04');
    if (eot != std::string::npos) {
      e.has_context = true;
      e.context = original.substr(0, eot);
      original.erase(0, eot + 1);
    }
    const std::size_t nul = original.find('\0');
    if (nul != std::string::npos) {
      e.msgid_plural = original.substr(nul + 1);
      original.resize(nul);
    }
    e.msgid = std::move(original);
    e.msgstr = split_nul(string_at(1, i));
    cat.entries.push_back(std::move(e));
  }
  return cat;
}

MoCatalog read_mo_catalog(const std::string& path) { return parse_mo_catalog(read_text_file(path), path); }

}  // namespace thanos
