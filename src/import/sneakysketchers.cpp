// yashk2000/SneakySketchers (inpainting/model.py), which follows naoto0804's naming.
//
// Layer i is PConvLayer enc_i / dec_j with .conv a PartialConvolution (an nn.Conv2d; its all-ones
// mask kernel is a plain attribute, not in the state dict). The ratio is the paper's
// sum(1)/sum(M) over all mask channels, as pconv's. Quirks, reproduced: PConvLayer assigns its
// BatchNorm2d to a local variable, so no layer has BN (identity BN here); the only biased layer,
// dec_1, multiplies by the ratio a second time, bias included (the format's
// reweight_output_twice); the class builds 8 encoder and 8 decoder layers but predict.py runs 7,
// and which ran cannot be read from the keys (--depth, default 7; the unused layers are dropped).
// Input: RGB in [0,1] without mean/std; the output is clamped to [0,1] by predict.py, as pconv
// clamps every fill.
#include "pconv/io/error.h"
#include "sources.h"

namespace pconv::import_detail {

namespace {
constexpr int64_t kDefaultDepth = 7;  // predict.py: PConvUNet(finetune=False, layer_size=7)
}

bool is_sneakysketchers(const SourceState& s) { return s.has("enc_1.conv.weight") && s.has("dec_1.conv.bias"); }

Conversion convert_sneakysketchers(SourceState& s, const ImportOptions& options) {
  if (!is_sneakysketchers(s))
    throw Error("not a SneakySketchers checkpoint (no enc_1.conv.weight and dec_1.conv.bias)");
  const int64_t stored = s.count("enc_", ".conv.weight");
  const int64_t depth = options.depth.value_or(kDefaultDepth);
  if (depth > stored)
    throw Error("--depth " + std::to_string(depth) + " needs enc_" + std::to_string(depth) + ", but the file has " +
                std::to_string(stored) + " encoder layers");

  Conversion c;
  c.project = "yashk2000/SneakySketchers";
  c.layout = "inpainting/model.py";
  c.architecture.depth(depth)
      .width(width_from_first_layer(s.shape("enc_1.conv.weight")[0], "enc_1"))
      .reweight_output_twice(true);
  c.architecture.check();
  c.normalization = Normalization{{0.0f, 0.0f, 0.0f}, {1.0f, 1.0f, 1.0f}};
  c.notes.push_back("depth " + std::to_string(depth) +
                    (options.depth ? " (--depth)" : " (the source's predict.py default; --depth to change)"));

  for (int64_t i = 1; i <= 2 * depth; ++i) {
    const auto l = c.architecture.layer(i);
    const std::string src = source_layer(i, depth), dst = "pconv" + std::to_string(i);
    c.state[dst + ".weight"] = s.take(src + ".conv.weight", {l.out, l.in, l.kernel, l.kernel});
    if (i == 2 * depth)
      c.state[dst + ".bias"] = s.take(src + ".conv.bias", {l.out});
    else if (!l.bn)
      c.state[dst + ".bias"] = torch::zeros({l.out});
    else
      put_identity_bn(c.state, i, l.out);
  }
  for (int64_t i = depth + 1; i <= stored; ++i) {
    s.drop("enc_" + std::to_string(i) + ".conv.weight");
    s.drop("dec_" + std::to_string(i) + ".conv.weight");
  }
  if (stored > depth)
    c.notes.push_back("enc_" + std::to_string(depth + 1) + "… and dec_" + std::to_string(depth + 1) +
                      "… dropped: the source's forward pass at depth " + std::to_string(depth) + " never runs them");
  c.notes.push_back("no batch-norm in the source (a quirk of its PConvLayer): identity BN");
  c.notes.push_back("the last layer multiplies by sum(1)/sum(M) twice, as the source does");
  c.notes.push_back("input RGB in [0,1] without mean/std");
  s.finish();
  return c;
}

}  // namespace pconv::import_detail
