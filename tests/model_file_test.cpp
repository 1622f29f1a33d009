// Model files: safetensors round trips and the rejection of corrupt, truncated or mismatched files.
#include "pconv/nn/model_file.h"

#include <gtest/gtest.h>
#include <sys/resource.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <tuple>

#include "pconv/infer/inpainter.h"
#include "pconv/io/error.h"
#include "pconv/io/files.h"
#include "pconv/io/safetensors.h"
#include "test_util.h"

namespace pconv {
namespace {
namespace fs = std::filesystem;
using nlohmann::json;

// Writes a safetensors file from a header and a data section as given, valid or not.
void write_raw(const fs::path& path, const std::string& header, const std::vector<uint8_t>& data, uint64_t length) {
  std::vector<uint8_t> bytes(8);
  for (int i = 0; i < 8; ++i) bytes[i] = static_cast<uint8_t>(length >> (8 * i));
  bytes.insert(bytes.end(), header.begin(), header.end());
  bytes.insert(bytes.end(), data.begin(), data.end());
  write_file_atomic(path, bytes);
}

void write_raw(const fs::path& path, const json& header, size_t data_bytes) {
  const std::string text = header.dump();
  write_raw(path, text, std::vector<uint8_t>(data_bytes, 0), text.size());
}

using test::expect_error;

TEST(Safetensors, RoundTripKeepsTensorsAndMetadata) {
  test::TempDir dir;
  Safetensors file;
  file.tensors["a"] = torch::randn({3, 4});
  file.tensors["b.c"] = torch::arange(5, torch::kInt64);
  file.tensors["h"] = torch::randn({2, 2}).to(torch::kFloat16);
  file.tensors["empty"] = torch::zeros({0, 3});
  file.metadata["key"] = "value";
  write_safetensors(dir / "x.safetensors", file);
  const auto back = read_safetensors(dir / "x.safetensors");
  ASSERT_EQ(back.tensors.size(), 4u);
  for (const auto& [name, t] : file.tensors) EXPECT_TRUE(torch::equal(back.tensors.at(name), t)) << name;
  EXPECT_EQ(back.metadata.at("key"), "value");
  EXPECT_EQ(fs::file_size(dir / "x.safetensors") % 8, 0u) << "header padded to 8 bytes";
}

TEST(Safetensors, RejectsCorruptFiles) {
  test::TempDir dir;
  const auto p = dir / "bad.safetensors";
  const json ok_entry = {{"dtype", "F32"}, {"shape", {2, 2}}, {"data_offsets", {0, 16}}};

  expect_error([&] { read_safetensors(dir / "missing.safetensors"); }, "no such file");
  expect_error([&] { read_safetensors(dir.path()); }, "is a folder");
  write_file_atomic(p, std::vector<uint8_t>{1, 2, 3});
  expect_error([&] { read_safetensors(p); }, "not a safetensors file");
  write_raw(p, "{}", {}, uint64_t{1} << 60);
  expect_error([&] { read_safetensors(p); }, "exceeds");
  write_raw(p, "{}", {}, 1000);
  expect_error([&] { read_safetensors(p); }, "larger than the file");
  write_raw(p, "{not json", {}, 9);
  expect_error([&] { read_safetensors(p); }, "not valid JSON");
  write_raw(p, json::array(), 0);
  expect_error([&] { read_safetensors(p); }, "not a JSON object");
  write_raw(p, json{{"w", ok_entry}}, 8);
  expect_error([&] { read_safetensors(p); }, "outside");
  write_raw(p, json{{"w", {{"dtype", "F32"}, {"shape", {3}}, {"data_offsets", {0, 16}}}}}, 16);
  expect_error([&] { read_safetensors(p); }, "span 16");
  write_raw(p, json{{"w", {{"dtype", "Q4"}, {"shape", {2}}, {"data_offsets", {0, 2}}}}}, 2);
  expect_error([&] { read_safetensors(p); }, "unsupported dtype");
  write_raw(p, json{{"w", {{"dtype", "F32"}, {"shape", {-1}}, {"data_offsets", {0, 4}}}}}, 4);
  expect_error([&] { read_safetensors(p); }, "non-negative");
  write_raw(p,
            json{{"w", {{"dtype", "U8"}, {"shape", {uint64_t{1} << 40, uint64_t{1} << 40}}, {"data_offsets", {0, 4}}}}},
            4);
  expect_error([&] { read_safetensors(p); }, "too large");
  write_raw(p, json{{"a", ok_entry}, {"b", ok_entry}}, 16);
  expect_error([&] { read_safetensors(p); }, "overlaps");
  write_raw(p, json{{"a", ok_entry}}, 20);
  expect_error([&] { read_safetensors(p); }, "cover");
  write_raw(p, json{{"__metadata__", {{"k", 3}}}}, 0);
  expect_error([&] { read_safetensors(p); }, "not a string");
}

TEST(ModelFile, RoundTripReproducesTheNetwork) {
  test::TempDir dir;
  for (bool partial : {true, false}) {
    auto net = test::tiny_net(3, 0.25, partial, 11);
    // Non-trivial BN statistics, so that they are known to travel too.
    net->train();
    net(torch::randn({2, 3, 16, 16}), torch::ones({2, 1, 16, 16}));
    net->eval();
    ModelInfo info;
    info.architecture = net->options();
    info.training = {{"iterations", 123}};
    save_model(dir / "m.safetensors", net, info);
    Model back = load_model(dir / "m.safetensors");
    EXPECT_EQ(back.info.architecture.depth(), 3);
    EXPECT_EQ(back.info.architecture.width(), 0.25);
    EXPECT_EQ(back.info.architecture.partial(), partial);
    EXPECT_EQ(back.info.training["iterations"], 123);
    const auto x = torch::randn({1, 3, 16, 16});
    auto m = torch::ones({1, 1, 16, 16});
    m.index_put_({0, 0, torch::indexing::Slice(2, 9), torch::indexing::Slice(3, 12)}, 0);
    torch::NoGradGuard no_grad;
    EXPECT_TRUE(torch::equal(net(x, m), back.net(x, m)));
  }
}

TEST(ModelFile, Float16StorageHalvesTheFileAndLoadsAsFloat32) {
  test::TempDir dir;
  auto net = test::tiny_net(3, 0.5);
  ModelInfo info;
  info.architecture = net->options();
  save_model(dir / "f32.safetensors", net, info);
  save_model(dir / "f16.safetensors", net, info, torch::kFloat16);
  EXPECT_LT(fs::file_size(dir / "f16.safetensors"), fs::file_size(dir / "f32.safetensors") * 0.6);
  Model back = load_model(dir / "f16.safetensors");
  for (const auto& p : back.net->parameters()) EXPECT_EQ(p.scalar_type(), torch::kFloat);
  const auto x = torch::randn({1, 3, 16, 16});
  const auto m = torch::ones({1, 1, 16, 16});
  torch::NoGradGuard no_grad;
  EXPECT_TRUE(torch::allclose(net(x, m), back.net(x, m), 1e-2, 1e-2));
}

TEST(ModelFile, NamesFollowPyTorchLayout) {
  auto net = test::tiny_net(3, 0.125);
  const auto state = model_state(net);
  EXPECT_TRUE(state.count("pconv1.weight"));
  EXPECT_TRUE(state.count("bn2.running_var"));
  EXPECT_TRUE(state.count("bn2.num_batches_tracked"));
  for (const auto& [name, t] : state) EXPECT_EQ(name.find("window"), std::string::npos) << name;
}

// Writes `bad` as `original` changed by `edit`.
template <typename Edit>
void write_edited(const Safetensors& original, const fs::path& bad, Edit edit) {
  Safetensors f = original;
  edit(f);
  write_safetensors(bad, f);
}

TEST(ModelFile, RejectsMismatchedFiles) {
  test::TempDir dir;
  const auto good = dir / "good.safetensors", bad = dir / "bad.safetensors";
  test::write_tiny_model(good);
  const Safetensors original = read_safetensors(good);
  auto with = [&](auto edit) { write_edited(original, bad, edit); };
  with([](Safetensors& f) { f.tensors.erase("pconv2.weight"); });
  expect_error([&] { load_model(bad); }, "missing tensor 'pconv2.weight'");
  with([](Safetensors& f) { f.tensors["extra.weight"] = torch::zeros({1}); });
  expect_error([&] { load_model(bad); }, "unexpected tensor 'extra.weight'");
  with([](Safetensors& f) { f.tensors["pconv1.weight"] = torch::zeros({8, 3, 5, 5}); });
  expect_error([&] { load_model(bad); }, "has shape");
  with([](Safetensors& f) {
    f.tensors["pconv1.weight"] = torch::zeros_like(f.tensors["pconv1.weight"], torch::kInt32);
  });
  expect_error([&] { load_model(bad); }, "dtype");
  with([](Safetensors& f) {
    f.tensors["pconv1.bias"] = f.tensors["pconv1.bias"].clone();
    f.tensors["pconv1.bias"][0] = std::nan("");
  });
  expect_error([&] { load_model(bad); }, "NaN");
  with([](Safetensors& f) { f.metadata.erase(kModelMetadataKey); });
  expect_error([&] { load_model(bad); }, "not a pconv model");
  with([](Safetensors& f) { f.metadata[kModelMetadataKey] = "{broken"; });
  expect_error([&] { load_model(bad); }, "invalid pconv metadata");
  with([](Safetensors& f) {
    auto doc = json::parse(f.metadata[kModelMetadataKey]);
    doc["architecture"]["depth"] = 4;
    f.metadata[kModelMetadataKey] = doc.dump();
  });
  expect_error([&] { load_model(bad); }, "tensor");
  with([](Safetensors& f) {
    auto doc = json::parse(f.metadata[kModelMetadataKey]);
    doc["version"] = 99;
    f.metadata[kModelMetadataKey] = doc.dump();
  });
  expect_error([&] { load_model(bad); }, "version 99");
  with([](Safetensors& f) {
    auto doc = json::parse(f.metadata[kModelMetadataKey]);
    doc["architecture"]["type"] = "transformer";
    f.metadata[kModelMetadataKey] = doc.dump();
  });
  expect_error([&] { load_model(bad); }, "unknown architecture");
  // Version 2's fields (imported models): a value it does not know is refused; in a version 1
  // file they are not read, as a version 1 reader would not.
  with([](Safetensors& f) {
    auto doc = json::parse(f.metadata[kModelMetadataKey]);
    doc["version"] = 2;
    doc["architecture"]["output_activation"] = "softplus";
    f.metadata[kModelMetadataKey] = doc.dump();
  });
  expect_error([&] { load_model(bad); }, "unknown output_activation 'softplus'");
  with([](Safetensors& f) {
    auto doc = json::parse(f.metadata[kModelMetadataKey]);
    doc["architecture"]["output_activation"] = "tanh";
    f.metadata[kModelMetadataKey] = doc.dump();
  });
  EXPECT_EQ(load_model(bad).info.architecture.output_activation(), PConvUNetOptions::Activation::none);
  with([](Safetensors& f) {
    auto doc = json::parse(f.metadata[kModelMetadataKey]);
    doc["version"] = 2;
    doc["architecture"]["output_head"] = true;  // then head.weight and head.bias must be there
    f.metadata[kModelMetadataKey] = doc.dump();
  });
  expect_error([&] { load_model(bad); }, "missing tensor 'head.bias'");

  // Truncation anywhere is caught, and the message names the file.
  const auto bytes = read_file(good);
  for (size_t keep : {bytes.size() - 1, bytes.size() / 2, size_t{100}, size_t{4}}) {
    write_file_atomic(bad, bytes.data(), keep);
    try {
      load_model(bad);
      ADD_FAILURE() << "truncated to " << keep << " bytes but loaded";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(bad.string()), std::string::npos) << e.what();
    }
  }
}

TEST(ModelFile, StateShapesAreKnownWithoutBuildingTheNetwork) {
  for (const PConvUNetOptions& o : {PConvUNetOptions().depth(3).width(0.125), PConvUNetOptions().depth(5).width(0.3),
                                    PConvUNetOptions().depth(4).width(0.25).partial(false)}) {
    PConvUNet net(o);
    std::map<std::string, std::vector<int64_t>> built;
    for (const auto& [name, tensor] : model_state(net)) built[name] = tensor.sizes().vec();
    EXPECT_EQ(o.state_shapes(), built) << "depth " << o.depth() << " width " << o.width();
  }
}

TEST(ModelFile, MetadataForAHugeNetworkIsRefusedBeforeAllocating) {
  test::TempDir dir;
  Safetensors f;
  ModelInfo info;
  info.architecture.depth(10).width(4);  // about 3 GB of float32 weights
  f.metadata[kModelMetadataKey] = model_metadata_json(info).dump();
  write_safetensors(dir / "small.safetensors", f);
  rusage before{}, after{};
  getrusage(RUSAGE_SELF, &before);
  expect_error([&] { load_model(dir / "small.safetensors"); }, "missing tensor");
  getrusage(RUSAGE_SELF, &after);
  EXPECT_LT(after.ru_maxrss - before.ru_maxrss, 500 * 1024)
      << "peak memory grew by " << after.ru_maxrss - before.ru_maxrss << " KiB";
}

TEST(ModelFile, RefusesStatisticsAndNormalisationThatBreakTheFill) {
  test::TempDir dir;
  const auto good = dir / "good.safetensors", bad = dir / "bad.safetensors";
  test::write_tiny_model(good);
  const Safetensors original = read_safetensors(good);
  auto with = [&](auto edit) { write_edited(original, bad, edit); };
  with([](Safetensors& f) { f.tensors["bn2.running_var"] = -torch::ones_like(f.tensors["bn2.running_var"]); });
  expect_error([&] { load_model(bad); }, "'bn2.running_var' holds a negative variance");
  for (const auto& [key, value, message] :
       {std::tuple<const char*, float, const char*>{"std", 1e-45f, "input std"}, {"mean", 1e30f, "input mean"}}) {
    with([&, key = key, value = value](Safetensors& f) {
      auto doc = json::parse(f.metadata[kModelMetadataKey]);
      doc["input"][key] = {value, value, value};
      f.metadata[kModelMetadataKey] = doc.dump();
    });
    expect_error([&] { load_model(bad); }, message);
  }
}

TEST(ModelFile, ANetworkThatOverflowsIsAnErrorNamingTheModel) {
  test::TempDir dir;
  test::write_tiny_model(dir / "good.safetensors");
  Safetensors f = read_safetensors(dir / "good.safetensors");
  for (auto& [name, tensor] : f.tensors)
    if (name.find(".weight") != std::string::npos && name.rfind("pconv", 0) == 0) tensor = tensor * 1e18;
  write_safetensors(dir / "huge.safetensors", f);
  const Inpainter inpainter = Inpainter::from_file(dir / "huge.safetensors");  // every weight is finite
  expect_error(
      [&] {
        inpainter.predict(cv::Mat(64, 64, CV_32FC3, cv::Scalar::all(0.5)), test::rect_hole(64, 64, {8, 8, 20, 20}));
      },
      "huge.safetensors: the network's output holds NaN or infinite values");
}

TEST(ModelFile, Sha256SidecarIsCheckedOnLoad) {
  EXPECT_EQ(sha256_hex({'a', 'b', 'c'}), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  test::TempDir dir;
  const fs::path model = dir / "model.safetensors";
  test::write_tiny_model(model);
  const std::string digest = sha256_hex(read_file(model));
  const std::string line = digest + "  model.safetensors\n";
  write_file_atomic(model.string() + ".sha256", line.data(), line.size());
  EXPECT_NO_THROW(load_model(model));

  std::vector<uint8_t> bytes = read_file(model);
  bytes.back() ^= 1;  // one flipped bit in the last tensor's data
  write_file_atomic(model, bytes);
  test::expect_error([&] { load_model(model); }, "model.safetensors: SHA-256 is ");
  const std::string bad = "not-a-digest\n";
  write_file_atomic(model.string() + ".sha256", bad.data(), bad.size());
  test::expect_error([&] { load_model(model); }, "not a SHA-256 digest");
}

}  // namespace
}  // namespace pconv
