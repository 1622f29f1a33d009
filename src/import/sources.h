#pragma once
// One converter per source project: its layout read from a SourceState, written under PConvUNet's
// names (pconv{i}, bn{i}; layers 1..D the encoder, D+1..2D the decoder).
#include <map>
#include <string>
#include <vector>

#include "pconv/import/import.h"
#include "pconv/io/keras_weights.h"
#include "source_state.h"

namespace pconv::import_detail {

struct Conversion {
  PConvUNetOptions architecture;
  Normalization normalization;
  std::map<std::string, torch::Tensor> state;
  std::vector<std::string> notes;
  std::string project;  // "owner/repository"
  std::string layout;   // which version of the source's code wrote it
};

bool is_naoto(const SourceState& s);
Conversion convert_naoto(SourceState& s, const ImportOptions& options);

bool is_sneakysketchers(const SourceState& s);
Conversion convert_sneakysketchers(SourceState& s, const ImportOptions& options);

/// PConv-Keras reads no PyTorch checkpoint: its layers come from io/keras_weights.h.
Conversion convert_keras(const std::vector<KerasLayer>& layers, const ImportOptions& options);

bool is_sunnerli(const SourceState& s);
Conversion convert_sunnerli(SourceState& s, const ImportOptions& options);

// --- shared by the converters ---

/// The source layer that plays PConvUNet's layer `i` in naoto0804's naming, which
/// SneakySketchers shares: enc_i for the encoder, dec_(2D+1-i) for the decoder.
std::string source_layer(int64_t i, int64_t depth);

/// Width multiplier from the first layer's output channels (64 in the paper's network), checked
/// to reproduce that count.
double width_from_first_layer(int64_t channels, const std::string& name);

/// The depth the file holds against the one asked for: an error when they differ.
int64_t checked_depth(int64_t in_file, const ImportOptions& options, const std::string& what);

/// BN in evaluation mode that passes values through (for sources without BN), within float rounding.
void put_identity_bn(std::map<std::string, torch::Tensor>& state, int64_t layer, int64_t channels);

/// Source BN tensors `prefix`.weight … into bn{layer}; num_batches_tracked is 0 where the source's
/// PyTorch did not keep it.
void put_bn(SourceState& s, const std::string& prefix, std::map<std::string, torch::Tensor>& state, int64_t layer,
            int64_t channels);

/// Checks that a source's fixed mask kernel is all ones, as every source initialises it.
void check_ones(SourceState& s, const std::string& name, const std::vector<int64_t>& shape);

}  // namespace pconv::import_detail
