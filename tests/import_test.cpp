// pconv import: each source's checkpoint, converted, computes that source's own forward pass.
// The checkpoints and the sources' outputs come from tests/data/import/make_fixtures.py, which
// re-states each project's published model code (with its quirks) in PyTorch.
#include "pconv/import/import.h"

#include <gtest/gtest.h>

#include "pconv/io/error.h"
#include "pconv/io/files.h"
#include "pconv/io/torch_checkpoint.h"
#include "test_util.h"

namespace pconv {
namespace {
namespace fs = std::filesystem;

const fs::path kData = fs::path(PCONV_TEST_DATA) / "import";

// Max |pconv - source| on the fixture's image and mask, in the source's output space.
double max_difference(const ImportedModel& model, const std::string& reference) {
  const pickle::Value ref = read_torch_checkpoint(kData / (reference + ".reference.pt"));
  PConvUNet net = build_network(model);
  torch::NoGradGuard no_grad;
  const torch::Tensor out = net->forward(ref.find("image")->tensor, ref.find("mask")->tensor);
  const torch::Tensor expected = ref.find("output")->tensor;
  EXPECT_GT(expected.abs().mean().item<double>(), 0.1);  // the comparison is not between near-zeros
  return (out - expected).abs().max().item<double>();
}

struct Case {
  const char* file;
  ImportSource from;
  const char* reference;
  int64_t depth;
};

TEST(Import, EachSourceMatchesItsOwnForwardPass) {
  const Case cases[] = {{"naoto.pth", ImportSource::naoto, "naoto", 5},
                        {"naoto-legacy.pth", ImportSource::naoto, "naoto", 5},
                        {"naoto-2018.pth", ImportSource::naoto, "naoto-2018", 5},
                        {"sneakysketchers.pth", ImportSource::sneakysketchers, "sneakysketchers", 7}};
  for (const Case& c : cases) {
    for (ImportSource from : {c.from, ImportSource::automatic}) {
      const ImportedModel model = import_model(kData / c.file, {from, std::nullopt});
      EXPECT_EQ(model.info.architecture.depth(), c.depth) << c.file;
      EXPECT_DOUBLE_EQ(model.info.architecture.width(), 1.0 / 16) << c.file;
      const double difference = max_difference(model, c.reference);
      EXPECT_LE(difference, 1e-4) << c.file << " from " << to_string(from);
      if (from != ImportSource::automatic) std::cout << c.file << ": max |pconv - source| = " << difference << "\n";
    }
  }
}

// SunnerLi's network reads BGR in [-1,1] (cv2, then a Normalize); the converted one reads RGB with
// mean 0.5 and std 0.5, and outputs RGB.
TEST(Import, SunnerLiMatchesItsOwnForwardPassWithColoursReordered) {
  const ImportedModel model = import_model(kData / "sunnerli.pth", {});
  EXPECT_EQ(model.info.architecture.depth(), 8);
  EXPECT_EQ(model.info.architecture.output_activation(), PConvUNetOptions::Activation::tanh);
  EXPECT_EQ(model.info.normalization.mean, (std::array<float, 3>{0.5f, 0.5f, 0.5f}));
  const pickle::Value ref = read_torch_checkpoint(kData / "sunnerli.reference.pt");
  const torch::Tensor rgb = ref.find("image_bgr")->tensor.flip(1).to(torch::kFloat32) / 255.0;
  const torch::Tensor mask = ref.find("mask")->tensor.to(torch::kFloat32);
  const auto& n = model.info.normalization;
  const torch::Tensor input = (rgb - n.mean[0]) / n.std[0];  // the same mean and std on every channel
  PConvUNet net = build_network(model);
  torch::NoGradGuard no_grad;
  const torch::Tensor out = net->forward(input * mask, mask).flip(1);
  const torch::Tensor expected = ref.find("output_bgr_every_2nd")->tensor;
  const double difference = (out.index({"...", torch::indexing::Slice(0, torch::indexing::None, 2),
                                        torch::indexing::Slice(0, torch::indexing::None, 2)}) -
                             expected)
                                .abs()
                                .max()
                                .item<double>();
  EXPECT_GT(expected.abs().mean().item<double>(), 0.1);
  EXPECT_LE(difference, 1e-4);
  std::cout << "sunnerli.pth: max |pconv - source| = " << difference << "\n";
  // Where no valid pixel reaches a layer the source outputs its bias: a hole over everything.
  const torch::Tensor none_valid = net->forward(torch::zeros_like(input), torch::zeros_like(mask)).flip(1);
  const torch::Tensor expected_none = ref.find("output_bgr_no_valid_pixel")->tensor;
  using torch::indexing::Slice;
  EXPECT_LE((none_valid.index({"...", Slice(0, torch::indexing::None, 8), Slice(0, torch::indexing::None, 8)}) -
             expected_none)
                .abs()
                .max()
                .item<double>(),
            1e-5);
  EXPECT_GT(expected_none.abs().max().item<double>(), 0.01);
}

// PConv-Keras: HDF5 from save_weights and from save (model_weights/), RGB [0,1] in, sigmoid out.
TEST(Import, KerasMatchesItsOwnForwardPassInBothFileLayouts) {
  const pickle::Value ref = read_torch_checkpoint(kData / "keras.reference.pt");
  const torch::Tensor mask = ref.find("mask")->tensor.to(torch::kFloat32);
  const torch::Tensor rgb = ref.find("image_rgb")->tensor.to(torch::kFloat32) / 255.0;
  const torch::Tensor expected = ref.find("output_every_2nd")->tensor;
  using torch::indexing::Slice;
  for (const char* file : {"keras.h5", "keras-model.h5"}) {
    for (ImportSource from : {ImportSource::keras, ImportSource::automatic}) {
      const ImportedModel model = import_model(kData / file, {from, std::nullopt});
      EXPECT_EQ(model.info.architecture.depth(), 8);
      EXPECT_TRUE(model.info.architecture.output_head());
      EXPECT_EQ(model.info.architecture.output_activation(), PConvUNetOptions::Activation::sigmoid);
      PConvUNet net = build_network(model);
      torch::NoGradGuard no_grad;
      const torch::Tensor out = net->forward(rgb * mask, mask);
      const double difference =
          (out.index({"...", Slice(0, torch::indexing::None, 2), Slice(0, torch::indexing::None, 2)}) - expected)
              .abs()
              .max()
              .item<double>();
      EXPECT_LE(difference, 1e-4) << file;
      if (from == ImportSource::keras) std::cout << file << ": max |pconv - source| = " << difference << "\n";
    }
  }
  const std::string missing = test::error_message([] { import_model(kData / "keras-missing-bn.h5", {}); });
  EXPECT_NE(missing.find("is not the BatchNormalization expected at this place"), std::string::npos) << missing;
  const std::string not_h5 = test::error_message([] { import_model(kData / "naoto.pth", {ImportSource::keras, {}}); });
  EXPECT_NE(not_h5.find("not an HDF5 file"), std::string::npos) << not_h5;
  const std::string not_torch = test::error_message([] {
    import_model(kData / "keras.h5", {ImportSource::naoto, {}});
  });
  EXPECT_NE(not_torch.find("an HDF5 file (a Keras model: --from keras)"), std::string::npos) << not_torch;
}

TEST(Import, TruncatedAndCorruptKerasFilesGiveOneLineErrors) {
  test::TempDir dir;
  const std::vector<uint8_t> bytes = read_file(kData / "keras.h5");
  for (double keep : {0.0, 0.01, 0.3, 0.7, 0.99}) {
    const fs::path cut = dir / "cut.h5";
    const std::vector<uint8_t> part(bytes.begin(), bytes.begin() + static_cast<std::ptrdiff_t>(keep * bytes.size()));
    write_file_atomic(cut, part);
    const std::string message = test::error_message([&] { import_model(cut, {ImportSource::keras, {}}); });
    EXPECT_EQ(message.rfind(cut.string() + ": ", 0), 0u) << keep << ": " << message;
    EXPECT_EQ(message.find('\n'), std::string::npos) << message;
  }
  // HDF5 keeps no checksum of raw data: flipped bytes there change weights; elsewhere they are
  // errors. Either way, no crash and no message on stderr.
  int refused = 0;
  for (size_t at = 0; at < bytes.size(); at += bytes.size() / 97) {
    std::vector<uint8_t> flipped = bytes;
    flipped[at] ^= 0x5a;
    write_file_atomic(dir / "flipped.h5", flipped);
    if (!test::error_message([&] { import_model(dir / "flipped.h5", {ImportSource::keras, {}}); }).empty()) ++refused;
  }
  std::cout << refused << " of 98 flipped bytes refused\n";
}

TEST(Import, SourceConventionsReachTheModelFile) {
  test::TempDir dir;
  const ImportedModel naoto = import_model(kData / "naoto.pth", {});
  EXPECT_EQ(naoto.info.normalization.mean, (std::array<float, 3>{0.485f, 0.456f, 0.406f}));
  EXPECT_FALSE(naoto.info.architecture.reweight_output_twice());
  save_imported_model(dir / "naoto.safetensors", naoto);
  const Model loaded = load_model(dir / "naoto.safetensors");
  const nlohmann::json meta = model_metadata_json(loaded.info);
  EXPECT_EQ(meta["version"], 1);  // nothing version 2 describes: older pconv reads it too
  EXPECT_EQ(meta["source"]["project"], "naoto0804/pytorch-inpainting-with-partial-conv");
  EXPECT_EQ(meta["source"]["file"], "naoto.pth");
  EXPECT_EQ(meta["source"]["sha256"], sha256_hex(read_file(kData / "naoto.pth")));

  const ImportedModel sneaky = import_model(kData / "sneakysketchers.pth", {});
  EXPECT_EQ(sneaky.info.normalization.mean, (std::array<float, 3>{0.f, 0.f, 0.f}));
  EXPECT_EQ(sneaky.info.normalization.std, (std::array<float, 3>{1.f, 1.f, 1.f}));
  save_imported_model(dir / "sneaky.safetensors", sneaky);
  Model sneaky_loaded = load_model(dir / "sneaky.safetensors");
  EXPECT_TRUE(sneaky_loaded.info.architecture.reweight_output_twice());
  EXPECT_EQ(model_metadata_json(sneaky_loaded.info)["version"], 2);

  // The file computes what the conversion does.
  const pickle::Value ref = read_torch_checkpoint(kData / "sneakysketchers.reference.pt");
  torch::NoGradGuard no_grad;
  const torch::Tensor out = sneaky_loaded.net->forward(ref.find("image")->tensor, ref.find("mask")->tensor);
  EXPECT_LE((out - ref.find("output")->tensor).abs().max().item<double>(), 1e-4);
}

TEST(Import, DepthIsReadWhereTheFileTellsAndAskedWhereItCannot) {
  // naoto0804: the file holds 5 enc_ layers; another --depth is an error, not a guess.
  const std::string naoto = test::error_message([] { import_model(kData / "naoto.pth", {ImportSource::naoto, 4}); });
  EXPECT_NE(naoto.find("--depth 4 does not match the file, which holds a depth-5 network"), std::string::npos) << naoto;
  // SneakySketchers stores 8 layers and runs 7 by default; 8 is a different, valid network.
  const ImportedModel eight = import_model(kData / "sneakysketchers.pth", {ImportSource::sneakysketchers, 8});
  EXPECT_EQ(eight.info.architecture.depth(), 8);
  const std::string nine = test::error_message([] {
    import_model(kData / "sneakysketchers.pth", {ImportSource::sneakysketchers, 9});
  });
  EXPECT_NE(nine.find("--depth 9 needs enc_9, but the file has 8 encoder layers"), std::string::npos) << nine;
}

TEST(Import, LayoutsThatDoNotMatchAreRefusedByName) {
  EXPECT_NO_THROW(import_model(kData / "naoto-tiny.pth", {}));
  const std::pair<const char*, const char*> cases[] = {
      {"naoto-tiny-missing.pth", "tensor 'dec_2.bn.running_var' is missing"},
      {"naoto-tiny-extra.pth", "unexpected tensor 'dec_0.conv.input_conv.weight'"},
      {"naoto-tiny-shape.pth", "tensor 'enc_3.conv.input_conv.weight' has shape [4, 2, 3, 3], expected [4, 2, 5, 5]"},
      {"naoto-tiny-text.pth", "holds a str under 'enc_2.bn.weight', not a tensor"},
      {"tensors.pth", "a PyTorch checkpoint of no known PConv project"},
  };
  for (const auto& c : cases) {
    const std::string file = c.first, problem = c.second;  // named copies: lambdas cannot capture bindings
    const std::string message = test::error_message([&] { import_model(kData / file, {}); });
    EXPECT_EQ(message.rfind((kData / file).string() + ": ", 0), 0u) << message;
    EXPECT_NE(message.find(problem), std::string::npos) << message;
  }
  // A declared source that the file is not.
  const std::string wrong = test::error_message([] {
    import_model(kData / "naoto.pth", {ImportSource::sneakysketchers, {}});
  });
  EXPECT_NE(wrong.find("not a SneakySketchers checkpoint"), std::string::npos) << wrong;
  const std::string other = test::error_message([] {
    import_model(kData / "sneakysketchers.pth", {ImportSource::naoto, {}});
  });
  EXPECT_NE(other.find("not a naoto0804 checkpoint"), std::string::npos) << other;
  EXPECT_NE(test::error_message([] { import_model(kData / "runs-code.pth", {}); }).find("posix.system"),
            std::string::npos);
  EXPECT_NE(test::error_message([] { parse_import_source("keras2"); }).find("unknown source 'keras2'"),
            std::string::npos);
}

}  // namespace
}  // namespace pconv
