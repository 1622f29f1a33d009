// naoto0804/pytorch-inpainting-with-partial-conv (net.py), the most used PyTorch port.
//
// Layer i is PCBActiv enc_i / dec_j: .conv (PartialConv: input_conv + an all-ones mask_conv of
// the same shape), .bn (every layer but enc_1 and dec_1), activation ReLU / LeakyReLU(0.2).
// Its partial convolution divides by sum(M) alone, where the paper multiplies by sum(1)/sum(M):
// a constant sum(1) = C_in·k·k per layer, folded into the weights. Its mask has as many channels
// as the features and the decoder concatenates upsampled and skip masks, so sum(M) counts valid
// entries over all input channels: what pconv's single-map mask computes. Only dec_1 has a bias.
// The 2018 code (conv2d + mask2d) had a bias on every layer; before BN it is folded into the
// running mean, which changes nothing where a pixel has valid inputs (elsewhere the features
// are masked out before any later layer reads them).
// Input: RGB in [0,1], ImageNet mean/std; output in the same space, no activation.
#include "pconv/io/error.h"
#include "sources.h"

namespace pconv::import_detail {

namespace {
struct Layout {
  const char* conv;  // the image convolution inside PartialConv
  const char* mask;  // its fixed all-ones twin
  bool every_layer_biased;
  const char* name;
};
constexpr Layout k2019{"input_conv", "mask_conv", false, "net.py with PartialConv (input_conv, mask_conv)"};
constexpr Layout k2018{"conv2d", "mask2d", true, "net.py of 2018 with PConv2d (conv2d, mask2d)"};

const Layout* layout_of(const SourceState& s) {
  if (s.has("enc_1.conv.input_conv.weight")) return &k2019;
  if (s.has("enc_1.conv.conv2d.weight")) return &k2018;
  return nullptr;
}
}  // namespace

bool is_naoto(const SourceState& s) { return layout_of(s) != nullptr; }

Conversion convert_naoto(SourceState& s, const ImportOptions& options) {
  const Layout* layout = layout_of(s);
  if (!layout) throw Error("not a naoto0804 checkpoint (no enc_1.conv.input_conv.weight or enc_1.conv.conv2d.weight)");
  const std::string conv = std::string(".conv.") + layout->conv, mask = std::string(".conv.") + layout->mask;

  Conversion c;
  c.project = "naoto0804/pytorch-inpainting-with-partial-conv";
  c.layout = layout->name;
  const int64_t depth = checked_depth(s.count("enc_", conv + ".weight"), options, "naoto0804");
  c.architecture.depth(depth).width(width_from_first_layer(s.shape("enc_1" + conv + ".weight")[0], "enc_1"));
  c.architecture.check();
  c.notes.push_back("depth " + std::to_string(depth) + " (" + std::to_string(depth) + " enc_ layers in the file)");
  c.notes.push_back(
      "weights divided by C_in·k·k: the source divides by sum(M) where the paper multiplies by sum(1)/sum(M)");

  for (int64_t i = 1; i <= 2 * depth; ++i) {
    const auto l = c.architecture.layer(i);
    const std::string src = source_layer(i, depth), dst = "pconv" + std::to_string(i);
    const std::vector<int64_t> shape{l.out, l.in, l.kernel, l.kernel};
    c.state[dst + ".weight"] = s.take(src + conv + ".weight", shape) / static_cast<double>(l.in * l.kernel * l.kernel);
    check_ones(s, src + mask + ".weight", shape);
    if (layout->every_layer_biased) {
      const torch::Tensor zero = s.take(src + mask + ".bias", {l.out});
      if (!zero.eq(0).all().item<bool>()) throw Error("tensor '" + src + mask + ".bias' is not zero");
    }
    torch::Tensor bias = torch::zeros({l.out});
    const bool source_biased = layout->every_layer_biased || i == 2 * depth;
    if (source_biased) bias = s.take(src + conv + ".bias", {l.out});
    if (!l.bn) {
      c.state[dst + ".bias"] = bias;
      continue;
    }
    put_bn(s, src + ".bn", c.state, i, l.out);
    c.state["bn" + std::to_string(i) + ".running_mean"] -= bias;  // BN(x + b) = BN'(x) with mean' = mean - b
  }
  c.notes.push_back(layout->every_layer_biased ? "biases before batch-norm folded into its running mean"
                                               : "enc_1 has no bias in the source: pconv1.bias = 0");
  s.finish();
  return c;
}

}  // namespace pconv::import_detail
