// Fuzz driver for the safetensors reader, through the C ABI (vt/c/safetensors.h).
//
// Each input is opened (from memory, and every 16th one also from a file, the mmap path); every
// byte of every tensor and every metadata string is read. Under AddressSanitizer a read outside
// the input is a report; any status other than VALUE (a refused file) or OUT_OF_MEMORY aborts.
//
// Plain driver (what ci/asan-safetensors.sh runs):
//   safetensors_fuzz [ITERATIONS [SEED]]   mutate built-in valid files ITERATIONS times
//   safetensors_fuzz FILE...               run each file once (a corpus, or a crash to replay)
// With clang, -fsanitize=fuzzer -DVT_LIBFUZZER builds a libFuzzer target instead.
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include <unistd.h>

#include "vt/c/vt.h"

namespace {

using Bytes = std::vector<uint8_t>;
volatile uint64_t g_sink = 0;  // keeps the reads from being optimized away
long g_opened = 0, g_refused = 0;

void require(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "safetensors_fuzz: %s (%s)\n", what, vt_last_error_message());
    std::abort();
  }
}

bool refused(vt_status_t st) { return st == VT_ERROR_VALUE || st == VT_ERROR_OUT_OF_MEMORY; }

// Reads everything a consumer could read; the file must be open.
void consume(vt_safetensors_t file) {
  int64_t n = 0, m = 0;
  require(vt_safetensors_num_tensors(file, &n) == VT_OK, "num_tensors");
  for (int64_t i = 0; i < n; ++i) {
    const char* name = nullptr;
    require(vt_safetensors_tensor_name(file, i, &name) == VT_OK, "tensor_name");
    vt_tensor_t t = nullptr;
    vt_status_t st = vt_safetensors_get_tensor(file, name, &t);
    if (st != VT_OK) {
      // A name holding NUL cannot be looked up through a C string; nothing else may fail.
      require(refused(st), "get_tensor failed with an unexpected status");
      continue;
    }
    vt_tensor_desc_t desc{};
    desc.struct_size = sizeof(desc);
    require(vt_tensor_describe(t, &desc) == VT_OK, "describe");
    int64_t item = 0;
    require(vt_dtype_itemsize(desc.dtype, &item) == VT_OK, "itemsize");
    void* data = nullptr;
    require(vt_tensor_data_ptr(t, &data) == VT_OK, "data_ptr");
    const auto* bytes = static_cast<const uint8_t*>(data);
    uint64_t sum = 0;
    for (int64_t b = 0; b < desc.numel * item; ++b) sum += bytes[b];
    g_sink = g_sink + sum;
    vt_tensor_release(t);
  }
  require(vt_safetensors_num_metadata(file, &m) == VT_OK, "num_metadata");
  for (int64_t i = 0; i < m; ++i) {
    const char *key = nullptr, *value = nullptr;
    require(vt_safetensors_metadata_item(file, i, &key, &value) == VT_OK, "metadata_item");
    g_sink = g_sink + std::strlen(key) + std::strlen(value);
  }
}

void run_buffer(const uint8_t* data, size_t size) {
  vt_safetensors_t file = nullptr;
  vt_status_t st = vt_safetensors_open_buffer(data, size, &file);
  if (st != VT_OK) {
    require(refused(st), "open_buffer failed with an unexpected status");
    ++g_refused;
    return;
  }
  ++g_opened;
  consume(file);
  vt_safetensors_close(file);
}

void run_file(const Bytes& data) {
  char path[] = "/tmp/vt_safetensors_fuzz_XXXXXX";
  int fd = mkstemp(path);
  require(fd >= 0, "mkstemp");
  require(data.empty() || write(fd, data.data(), data.size()) == ssize_t(data.size()), "write");
  close(fd);
  vt_safetensors_t file = nullptr;
  vt_status_t st = vt_safetensors_open(path, &file);
  unlink(path);
  if (st != VT_OK) {
    require(refused(st), "open failed with an unexpected status");
    return;
  }
  consume(file);
  vt_safetensors_close(file);
}

struct Rng {
  uint64_t s;
  uint64_t next() {
    s ^= s << 13, s ^= s >> 7, s ^= s << 17;
    return s;
  }
  size_t below(size_t n) { return n ? size_t(next() % n) : 0; }
};

// Valid files of every dtype, written by vt's own writer.
std::vector<Bytes> seeds() {
  const int32_t dtypes[] = {VT_DTYPE_BOOL,    VT_DTYPE_UINT8,    VT_DTYPE_INT8,    VT_DTYPE_INT16,
                            VT_DTYPE_INT32,   VT_DTYPE_INT64,    VT_DTYPE_FLOAT16, VT_DTYPE_BFLOAT16,
                            VT_DTYPE_FLOAT32, VT_DTYPE_FLOAT64};
  std::vector<Bytes> out;
  for (int variant = 0; variant < 4; ++variant) {
    std::vector<vt_tensor_t> tensors;
    std::vector<std::string> names;
    for (int i = 0; i < 10; ++i) {
      if ((i + variant) % 3 == 0 && variant) continue;
      int64_t sizes[3] = {int64_t(i % 3 + variant), 2, int64_t(i % 2)};
      int64_t ndim = (i + variant) % 4;
      vt_tensor_t t = nullptr;
      vt_device_t cpu = {VT_DEVICE_CPU, 0};
      require(vt_tensor_empty(sizes, ndim, dtypes[i], cpu, &t) == VT_OK, "empty");
      vt_tensor_desc_t desc{};
      desc.struct_size = sizeof(desc);
      vt_tensor_describe(t, &desc);
      int64_t item = 0;
      vt_dtype_itemsize(dtypes[i], &item);
      void* p = nullptr;
      vt_tensor_data_ptr(t, &p);
      for (int64_t b = 0; b < desc.numel * item; ++b) static_cast<uint8_t*>(p)[b] = uint8_t(b & 1);
      tensors.push_back(t);
      names.push_back("t" + std::to_string(i) + (variant == 3 ? "\xc3\xa9\"\\" : ""));
    }
    std::vector<const char*> name_ptrs;
    for (const auto& n : names) name_ptrs.push_back(n.c_str());
    const char* keys[] = {"format", "k2"};
    const char* values[] = {"pt", "v\n2"};
    void* data = nullptr;
    size_t size = 0;
    const char* const* meta = variant % 2 ? keys : nullptr;  // none, one or two entries
    require(vt_safetensors_save_buffer(name_ptrs.data(), tensors.data(), int64_t(tensors.size()),
                                       meta, values, variant == 1 ? 1 : 2, &data, &size) == VT_OK,
            "save_buffer");
    out.emplace_back(static_cast<uint8_t*>(data), static_cast<uint8_t*>(data) + size);
    vt_host_free(data);
    for (vt_tensor_t t : tensors) vt_tensor_release(t);
  }
  return out;
}

Bytes mutate(const Bytes& seed, Rng& rng) {
  Bytes d = seed;
  static const char* const kTokens[] = {"{", "}", "[", "]", ",", ":", "\"", "0", "-1", "1e9",
                                        "18446744073709551616", "\\u", "\\ud800", "null", "\xff"};
  for (int k = 0, n = 1 + int(rng.below(3)); k < n; ++k) {
    uint64_t header = 0;  // what the (possibly already mutated) prefix claims
    for (int i = 7; i >= 0 && d.size() >= 8; --i) header = (header << 8) | d[size_t(i)];
    size_t header_end = size_t(std::min<uint64_t>(d.size(), 8 + std::min<uint64_t>(header, d.size())));
    switch (rng.below(6)) {
      case 0:  // flip a byte anywhere
        if (!d.empty()) d[rng.below(d.size())] ^= uint8_t(1 + rng.below(255));
        break;
      case 1:  // flip a byte of the header
        if (header_end) d[rng.below(header_end)] ^= uint8_t(1 + rng.below(255));
        break;
      case 2:  // truncate
        d.resize(rng.below(d.size() + 1));
        break;
      case 3: {  // insert a JSON token into the header, fixing the length prefix half the time
        if (d.size() < 8 || header_end < 8) break;
        const char* tok = kTokens[rng.below(std::size(kTokens))];
        size_t pos = 8 + rng.below(header_end - 8 + 1);
        d.insert(d.begin() + long(pos), tok, tok + std::strlen(tok));
        if (rng.below(2)) {
          uint64_t len = header_end - 8 + std::strlen(tok);
          for (int i = 0; i < 8; ++i) d[size_t(i)] = uint8_t(len >> (8 * i));
        }
        break;
      }
      case 4:  // rewrite the length prefix
        if (d.size() >= 8) {
          uint64_t len = rng.below(2) ? rng.next() : header + rng.below(17) - 8;
          for (int i = 0; i < 8; ++i) d[size_t(i)] = uint8_t(len >> (8 * i));
        }
        break;
      default:  // append bytes
        for (size_t i = 0, n2 = 1 + rng.below(16); i < n2; ++i) d.push_back(uint8_t(rng.next()));
    }
  }
  return d;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  run_buffer(data, size);
  return 0;
}

#ifndef VT_LIBFUZZER
int main(int argc, char** argv) {
  if (argc > 1 && access(argv[1], R_OK) == 0) {
    for (int i = 1; i < argc; ++i) {
      std::ifstream in(argv[i], std::ios::binary);
      Bytes d((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
      run_buffer(d.data(), d.size());
      run_file(d);
    }
    std::printf("safetensors_fuzz: %d files ok\n", argc - 1);
    return 0;
  }
  long iterations = argc > 1 ? std::atol(argv[1]) : 20000;
  Rng rng{argc > 2 ? std::strtoull(argv[2], nullptr, 10) | 1 : 0x9E3779B97F4A7C15ull};
  std::vector<Bytes> corpus = seeds();
  for (const Bytes& s : corpus) {
    run_buffer(s.data(), s.size());
    run_file(s);
  }
  for (long i = 0; i < iterations; ++i) {
    Bytes d = mutate(corpus[rng.below(corpus.size())], rng);
    run_buffer(d.data(), d.size());
    if (i % 16 == 0) run_file(d);
  }
  std::printf("safetensors_fuzz: %ld mutated inputs ok (%ld opened and read, %ld refused)\n",
              iterations, g_opened, g_refused);
  return 0;
}
#endif
