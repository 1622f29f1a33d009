// The restricted pickle reader and PyTorch checkpoints (io/pickle.h, io/torch_checkpoint.h).
// Checkpoints come from tests/data/import/make_fixtures.py (python3-torch 1.13, both formats).
#include "pconv/io/pickle.h"

#include <gtest/gtest.h>

#include <fstream>

#include "pconv/io/error.h"
#include "pconv/io/files.h"
#include "pconv/io/torch_checkpoint.h"
#include "test_util.h"

namespace pconv {
namespace {
namespace fs = std::filesystem;
using pickle::Value;

const fs::path kData = fs::path(PCONV_TEST_DATA) / "import";

std::vector<uint8_t> from_hex(const std::string& hex) {
  std::vector<uint8_t> out;
  for (size_t i = 0; i + 1 < hex.size(); i += 2)
    out.push_back(static_cast<uint8_t>(std::stoi(hex.substr(i, 2), nullptr, 16)));
  return out;
}

Value load(const std::vector<uint8_t>& bytes) {
  size_t used = 0;
  Value v = pickle::load(bytes.data(), bytes.size(), &used);
  EXPECT_EQ(used, bytes.size());
  return v;
}

// pickle.dumps({'a': 1, 'b': [1.5, -2, 300, 70000, 2**40, -(2**40)], 'c': (None, True, False),
//               'd': 'ünï'}, protocol=2); protocol 4 adds 'e': b'\x00\x01'.
const char* kProtocol2 =
    "80027d71002858010000006171014b0158010000006271025d710328473ff80000000000004afeffffff4d2c014a701101008a06000000"
    "0000018a060000000000ff6558010000006371044e888987710558010000006471065805000000c3bc6ec3af7107752e";
const char* kProtocol4 =
    "80049557000000000000007d94288c0161944b018c0162945d9428473ff80000000000004afeffffff4d2c014a701101008a06000000"
    "0000018a060000000000ff658c0163944e888987948c0164948c05c3bc6ec3af948c0165944302000194752e";

void expect_plain_values(const Value& v) {
  ASSERT_TRUE(v.is(Value::Kind::dict));
  EXPECT_EQ(v.find("a")->integer, 1);
  const auto& b = v.find("b")->items();
  ASSERT_EQ(b.size(), 6u);
  EXPECT_DOUBLE_EQ(b[0].real, 1.5);
  EXPECT_EQ(b[1].integer, -2);
  EXPECT_EQ(b[2].integer, 300);
  EXPECT_EQ(b[3].integer, 70000);
  EXPECT_EQ(b[4].integer, int64_t{1} << 40);
  EXPECT_EQ(b[5].integer, -(int64_t{1} << 40));
  const Value& c = *v.find("c");
  ASSERT_TRUE(c.is(Value::Kind::tuple));
  EXPECT_TRUE(c.items()[0].is(Value::Kind::none));
  EXPECT_TRUE(c.items()[1].boolean);
  EXPECT_FALSE(c.items()[2].boolean);
  EXPECT_EQ(v.find("d")->text, "\xc3\xbcn\xc3\xaf");
  EXPECT_EQ(v.find("missing"), nullptr);
}

TEST(Pickle, ReadsPlainDataInProtocols2And4) {
  expect_plain_values(load(from_hex(kProtocol2)));
  const Value v4 = load(from_hex(kProtocol4));
  expect_plain_values(v4);
  EXPECT_EQ(v4.find("e")->text, std::string("\x00\x01", 2));
  // Protocol 0: pickle.dumps([1, 2], protocol=0).
  const std::string p0 = "(lp0\nI1\naI2\na.";
  const Value list = load(std::vector<uint8_t>(p0.begin(), p0.end()));
  ASSERT_EQ(list.items().size(), 2u);
  EXPECT_EQ(list.items()[1].integer, 2);
}

TEST(Pickle, RefusesEveryGlobalButAStateDictsAndRunsNothing) {
  // A pickle whose loading calls os.system("touch /tmp/x") (posix.system on Linux).
  const auto bytes =
      from_hex("800263706f7369780a73797374656d0a7100580c000000746f756368202f746d702f7871018571025271032e");
  const std::string message = test::error_message([&] { load(bytes); });
  EXPECT_NE(message.find("refusing the global posix.system"), std::string::npos) << message;
  // Protocol 2 writes bytes as a call of _codecs.encode: a function call, refused like any other.
  const auto with_bytes = from_hex(
      "80027d71002858010000006171014b0158010000006271025d710328473ff80000000000004afeffffff4d2c014a701101008a0600000"
      "00000018a060000000000ff6558010000006371044e888987710558010000006471065805000000c3bc6ec3af71075801000000657108"
      "635f636f646563730a656e636f64650a710958020000000001710a58060000006c6174696e31710b86710c52710d752e");
  EXPECT_NE(test::error_message([&] { load(with_bytes); }).find("refusing the global _codecs.encode"),
            std::string::npos);
  // OrderedDict is allowed; called with arguments it is not.
  const Value od =
      load(from_hex("800263636f6c6c656374696f6e730a4f726465726564446963740a71002952710158010000007871024b01732e"));
  EXPECT_EQ(od.find("x")->integer, 1);
  const std::string with_args =
      "\x80\x02"
      "ccollections\nOrderedDict\n"
      "K\x01\x85R.";
  EXPECT_NE(
      test::error_message([&] { load(std::vector<uint8_t>(with_args.begin(), with_args.end())); }).find("OrderedDict"),
      std::string::npos);
  // A storage type is a name, not something to call.
  const std::string call_storage =
      "\x80\x02"
      "ctorch\nFloatStorage\n"
      ")R.";
  EXPECT_NE(test::error_message([&] {
              load(std::vector<uint8_t>(call_storage.begin(), call_storage.end()));
            }).find("refusing to call a torch.FloatStorage"),
            std::string::npos);
}

TEST(Pickle, RefusesCyclesDeepNestingAndMalformedInput) {
  // l = []; l.append(l)
  const std::string cycle(
      "\x80\x02]q\x00h\x00"
      "a.",
      8);
  EXPECT_NE(
      test::error_message([&] { load(std::vector<uint8_t>(cycle.begin(), cycle.end())); }).find("cannot hold itself"),
      std::string::npos);
  // A list changed after it went into another: the only way to build a longer cycle.
  const std::string later(
      "\x80\x02]q\x00]q\x01h\x00"
      "ah\x00h\x01"
      "a.",
      17);
  EXPECT_NE(test::error_message([&] { load(std::vector<uint8_t>(later.begin(), later.end())); }).find("after placing"),
            std::string::npos);
  // 100 nested lists.
  std::string deep = "\x80\x02";
  for (int i = 0; i < 100; ++i) deep += "]";
  for (int i = 0; i < 99; ++i) deep += "a";
  deep += ".";
  EXPECT_NE(test::error_message([&] { load(std::vector<uint8_t>(deep.begin(), deep.end())); }).find("nested deeper"),
            std::string::npos);
  // Every truncation of a valid pickle is an error, never a crash or a value.
  const auto bytes = from_hex(kProtocol2);
  for (size_t n = 0; n < bytes.size(); ++n) {
    size_t used = 0;
    EXPECT_THROW(pickle::load(bytes.data(), n, &used), Error) << n;
  }
  const std::string unknown = "\x80\x02\xff.";
  EXPECT_NE(test::error_message([&] {
              load(std::vector<uint8_t>(unknown.begin(), unknown.end()));
            }).find("unsupported opcode 0xff"),
            std::string::npos);
  const std::string get = "\x80\x02h\x05.";
  EXPECT_NE(test::error_message([&] { load(std::vector<uint8_t>(get.begin(), get.end())); }).find("memo entry 5"),
            std::string::npos);
}

void expect_known_tensors(const Value& v) {
  const torch::Tensor arange = torch::arange(12, torch::kFloat32).view({3, 4});
  EXPECT_TRUE(torch::equal(v.find("arange")->tensor, arange));
  EXPECT_TRUE(torch::equal(v.find("transposed")->tensor, arange.t()));
  EXPECT_EQ(v.find("transposed")->tensor.strides(), torch::IntArrayRef({1, 4}));
  EXPECT_TRUE(torch::equal(v.find("row")->tensor, torch::tensor({4.f, 5.f, 6.f, 7.f})));
  // The three share one storage, as in the file.
  EXPECT_EQ(v.find("row")->tensor.data_ptr<float>(), v.find("arange")->tensor.data_ptr<float>() + 4);
  const torch::Tensor half = v.find("half")->tensor;
  EXPECT_EQ(half.scalar_type(), torch::kFloat16);
  EXPECT_TRUE(torch::equal(half.to(torch::kFloat32), torch::tensor({1.5f, -2.0f})));
  EXPECT_TRUE(torch::equal(v.find("long")->tensor, torch::tensor({int64_t{1}, int64_t{-5}, int64_t{1} << 40})));
  EXPECT_EQ(v.find("scalar")->tensor.dim(), 0);
  EXPECT_EQ(v.find("scalar")->tensor.item<double>(), 3.25);
  EXPECT_EQ(v.find("empty")->tensor.sizes(), torch::IntArrayRef({0, 3}));
  EXPECT_TRUE(torch::equal(v.find("flag")->tensor, torch::tensor({true, false})));
}

TEST(TorchCheckpoint, ZipAndLegacyFormatsGiveTheSameTensors) {
  expect_known_tensors(read_torch_checkpoint(kData / "tensors.pth"));
  expect_known_tensors(read_torch_checkpoint(kData / "tensors-legacy.pth"));
  // A training checkpoint: {'n_iter', 'model': OrderedDict, 'optimizer': {'state', 'param_groups'}}.
  const Value zip = read_torch_checkpoint(kData / "naoto.pth");
  const Value legacy = read_torch_checkpoint(kData / "naoto-legacy.pth");
  EXPECT_EQ(zip.find("n_iter")->integer, 1000);
  const auto& a = zip.find("model")->entries();
  const auto& b = legacy.find("model")->entries();
  ASSERT_EQ(a.size(), b.size());
  ASSERT_GT(a.size(), 20u);
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].first.text, b[i].first.text);
    EXPECT_TRUE(torch::equal(a[i].second.tensor, b[i].second.tensor)) << a[i].first.text;
  }
  EXPECT_EQ(a[0].first.text, "enc_1.conv.input_conv.weight");
  const Value* groups = zip.find("optimizer")->find("param_groups");
  ASSERT_NE(groups, nullptr);
  EXPECT_DOUBLE_EQ(groups->items()[0].find("lr")->real, 1e-6);
}

TEST(TorchCheckpoint, ACheckpointThatWouldRunCodeIsRefusedAndRunsNothing) {
  const fs::path marker = "/tmp/pconv-import-test-pwned";  // what the fixture's command would create
  fs::remove(marker);
  for (const char* name : {"runs-code.pth", "runs-code-legacy.pth"}) {
    const std::string message = test::error_message([&] { read_torch_checkpoint(kData / name); });
    EXPECT_NE(message.find(name), std::string::npos) << message;
    EXPECT_NE(message.find("refusing the global posix.system"), std::string::npos) << message;
    EXPECT_EQ(message.find('\n'), std::string::npos) << message;
  }
  EXPECT_FALSE(fs::exists(marker));
}

void write(const fs::path& path, const std::vector<uint8_t>& bytes) {
  std::ofstream(path, std::ios::binary)
      .write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
}

TEST(TorchCheckpoint, TruncatedAndCorruptFilesGiveOneLineErrors) {
  test::TempDir dir;
  for (const char* name : {"naoto.pth", "naoto-legacy.pth"}) {
    const std::vector<uint8_t> bytes = read_file(kData / name);
    for (double keep : {0.0, 0.001, 0.1, 0.5, 0.9, 0.999}) {
      const fs::path cut = dir / "cut.pth";
      write(cut, std::vector<uint8_t>(bytes.begin(), bytes.begin() + static_cast<std::ptrdiff_t>(keep * bytes.size())));
      const std::string message = test::error_message([&] { read_torch_checkpoint(cut); });
      EXPECT_NE(message.find(cut.string() + ": "), std::string::npos) << name << " " << keep << ": " << message;
      EXPECT_EQ(message.find('\n'), std::string::npos) << message;
    }
  }
  // Zip records carry a CRC-32: a flipped bit anywhere in a tensor's data is found.
  std::vector<uint8_t> flipped = read_file(kData / "naoto.pth");
  flipped[flipped.size() / 2] ^= 0x10;
  write(dir / "flipped.pth", flipped);
  EXPECT_NE(test::error_message([&] { read_torch_checkpoint(dir / "flipped.pth"); }), "");
  // The legacy format has no checksum; flipped bits in its pickles are errors or harmless, never a crash.
  const std::vector<uint8_t> legacy = read_file(kData / "naoto-legacy.pth");
  int errors = 0;
  for (size_t at = 0; at < 4000 && at < legacy.size(); at += 7) {
    std::vector<uint8_t> bytes = legacy;
    bytes[at] ^= 0x41;
    write(dir / "bit.pth", bytes);
    if (!test::error_message([&] { read_torch_checkpoint(dir / "bit.pth"); }).empty()) ++errors;
  }
  EXPECT_GT(errors, 0);
  std::cout << errors << " of " << (std::min<size_t>(4000, legacy.size()) + 6) / 7 << " flipped bytes refused\n";
}

}  // namespace
}  // namespace pconv
