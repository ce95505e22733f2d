#include "thanos/export/npy.h"

#include <cstdint>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include "thanos/common/text.h"

namespace thanos {
namespace {

constexpr char kMagic[] = "\x93NUMPY";

const char* descr_of(OrtDtype dtype) {
  switch (dtype) {
    case OrtDtype::kFloat32: return "<f4";
    case OrtDtype::kFloat16: return "<f2";
    case OrtDtype::kInt64: return "<i8";
    case OrtDtype::kInt32: return "<i4";
    case OrtDtype::kBool: return "|b1";
  }
  return "";
}

}  // namespace

void write_npy(const std::string& path, const OrtTensor& tensor) {
  tensor.check();
  std::string shape = "(";
  for (std::size_t i = 0; i < tensor.shape.size(); ++i) {
    shape += std::to_string(tensor.shape[i]) + (tensor.shape.size() == 1 ? "," : i + 1 < tensor.shape.size() ? ", " : "");
  }
  shape += ")";
  std::string header = std::string("{'descr': '") + descr_of(tensor.dtype) + "', 'fortran_order': False, 'shape': " + shape + ", }";
  // Magic (6) + version (2) + length (2) + header + '\n' is a multiple of 64 (the format's alignment).
  const std::size_t unpadded = 10 + header.size() + 1;
  header.append((64 - unpadded % 64) % 64, ' ');
  header += '\n';
  std::string out(kMagic, 6);
  out += '\x01';
  out += '\x00';
  out += static_cast<char>(header.size() & 0xff);
  out += static_cast<char>((header.size() >> 8) & 0xff);
  out += header;
  out.append(reinterpret_cast<const char*>(tensor.bytes.data()), tensor.bytes.size());
  write_file_atomically(path, out);
}

OrtTensor read_npy(const std::string& path, const std::string& name) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::invalid_argument(path + ": cannot open");
  std::stringstream buffer;
  buffer << in.rdbuf();
  const std::string data = buffer.str();
  auto bad = [&](const std::string& what) { return std::invalid_argument(path + ": not a .npy file we read: " + what); };
  if (data.size() < 10 || data.compare(0, 6, std::string(kMagic, 6)) != 0) throw bad("no \\x93NUMPY magic");
  if (data[6] != 1) throw bad("format version " + std::to_string(static_cast<int>(data[6])) + " (expected 1)");
  const std::size_t header_len = static_cast<unsigned char>(data[8]) | static_cast<std::size_t>(static_cast<unsigned char>(data[9])) << 8;
  if (10 + header_len > data.size()) throw bad("truncated header");
  const std::string header = data.substr(10, header_len);
  auto value_of = [&](const std::string& key) {
    const auto k = header.find("'" + key + "':");
    if (k == std::string::npos) throw bad("header has no '" + key + "'");
    return header.substr(k + key.size() + 3);
  };
  const std::string descr_text = value_of("descr");
  const auto q1 = descr_text.find('\''), q2 = descr_text.find('\'', q1 + 1);
  const std::string descr = descr_text.substr(q1 + 1, q2 - q1 - 1);
  OrtTensor t;
  t.name = name;
  bool known = false;
  for (OrtDtype d : {OrtDtype::kFloat32, OrtDtype::kFloat16, OrtDtype::kInt64, OrtDtype::kInt32, OrtDtype::kBool}) {
    if (descr == descr_of(d)) {
      t.dtype = d;
      known = true;
    }
  }
  if (!known) throw bad("dtype '" + descr + "' (expected <f4, <f2, <i8, <i4 or |b1)");
  if (value_of("fortran_order").rfind(" True", 0) == 0) throw bad("Fortran order");
  const std::string shape_text = value_of("shape");
  const auto open = shape_text.find('('), close = shape_text.find(')');
  std::stringstream dims(shape_text.substr(open + 1, close - open - 1));
  std::string dim;
  while (std::getline(dims, dim, ',')) {
    if (dim.find_first_not_of(' ') == std::string::npos) continue;
    t.shape.push_back(std::stoll(dim));
  }
  const std::size_t expected = static_cast<std::size_t>(t.numel()) * element_size(t.dtype);
  if (data.size() - 10 - header_len != expected) {
    throw bad("data of " + std::to_string(data.size() - 10 - header_len) + " bytes, the shape needs " + std::to_string(expected));
  }
  t.bytes.assign(data.begin() + static_cast<std::ptrdiff_t>(10 + header_len), data.end());
  return t;
}

}  // namespace thanos
