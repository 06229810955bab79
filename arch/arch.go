// Package arch is the naming table for the model architectures glmtool knows: GGUF metadata keys, tensor
// names and the model families behind them. The converter writes files with these names and the runtime
// reads them; neither spells a key or tensor name itself (llama.cpp keeps the same discipline in
// llama-arch.cpp).
//
// ChatGLM2-6B, ChatGLM3-6B, GLM-4-9B and GLM-Edge use llama.cpp's "chatglm" architecture exactly, and
// GLM-4-9B-0414 / GLM-Z1-9B-0414 its "glm4". ChatGLM-6B (v1) is not in llama.cpp; glmtool names it
// "chatglm1" in the same style (docs/formats.md).
package arch

import "fmt"

// Architecture names as stored in general.architecture.
const (
	ChatGLM  = "chatglm"  // llama.cpp's: ChatGLM2/3, GLM-4, GLM-Edge
	ChatGLM1 = "chatglm1" // glmtool's: the original ChatGLM-6B
	GLM4     = "glm4"     // llama.cpp's: GLM-4-0414 (sandwich norms)
)

// Family is the model generation, which decides the tokenizer rules and the chat format.
type Family string

// The families.
const (
	FamilyChatGLM1 Family = "chatglm"   // THUDM/chatglm-6b
	FamilyChatGLM2 Family = "chatglm2"  // THUDM/chatglm2-6b(-32k)
	FamilyChatGLM3 Family = "chatglm3"  // THUDM/chatglm3-6b(-32k)
	FamilyGLM4     Family = "glm4"      // THUDM/glm-4-9b-chat
	FamilyGLM40414 Family = "glm4-0414" // THUDM/GLM-4-9B-0414, GLM-Z1-9B-0414 (HF Glm4ForCausalLM)
	FamilyGLMEdge  Family = "glm-edge"  // THUDM/glm-edge-1.5b-chat, -4b-chat (HF GlmForCausalLM)
)

// Families lists them in release order.
var Families = []Family{FamilyChatGLM1, FamilyChatGLM2, FamilyChatGLM3, FamilyGLM4, FamilyGLM40414, FamilyGLMEdge}

// Architecture is the general.architecture a family's files use: llama.cpp runs GLM-Edge as "chatglm"
// (its converter maps GlmForCausalLM there) and GLM-4-0414 as "glm4".
func (f Family) Architecture() string {
	switch f {
	case FamilyChatGLM1:
		return ChatGLM1
	case FamilyGLM40414:
		return GLM4
	}
	return ChatGLM
}

// ByteLevelBPE reports the families whose tokenizer is GLM-4's byte-level BPE (tokenizer.ggml.model
// "gpt2"), as opposed to SentencePiece.
func (f Family) ByteLevelBPE() bool {
	return f == FamilyGLM4 || f == FamilyGLM40414 || f == FamilyGLMEdge
}

// ChatRoles reports the families that chat through role tokens (<|system|>, <|user|>, <|assistant|>,
// <|observation|>) rather than ChatGLM-6B / ChatGLM2-6B's "[Round N]" text.
func (f Family) ChatRoles() bool { return f == FamilyChatGLM3 || f.ByteLevelBPE() }

// Generic metadata keys.
const (
	KeyArchitecture        = "general.architecture"
	KeyType                = "general.type"
	KeyName                = "general.name"
	KeyBaseName            = "general.basename"
	KeySizeLabel           = "general.size_label"
	KeyFileType            = "general.file_type"
	KeyQuantizationVersion = "general.quantization_version"

	// KeyFamily is glmtool's own: which ChatGLM generation the file holds (values: the Family constants).
	// llama.cpp ignores it.
	KeyFamily = "glmtool.family"
	// KeyPrefixLength is glmtool's: the number of P-Tuning v2 prefix slots the file's PrefixKV tensor holds.
	KeyPrefixLength = "glmtool.ptuning.pre_seq_len"

	// LoRA adapter files, as llama.cpp's convert_lora_to_gguf.py writes them: general.type "adapter".
	KeyAdapterType      = "adapter.type" // "lora"
	KeyAdapterLoRAAlpha = "adapter.lora.alpha"

	KeyTokenizerModel = "tokenizer.ggml.model"
	KeyTokenizerPre   = "tokenizer.ggml.pre"
	KeyTokens         = "tokenizer.ggml.tokens"
	KeyScores         = "tokenizer.ggml.scores"
	KeyTokenTypes     = "tokenizer.ggml.token_type"
	KeyMerges         = "tokenizer.ggml.merges"
	KeyBOS            = "tokenizer.ggml.bos_token_id"
	KeyEOS            = "tokenizer.ggml.eos_token_id"
	KeyEOT            = "tokenizer.ggml.eot_token_id"
	KeyUNK            = "tokenizer.ggml.unknown_token_id"
	KeyPAD            = "tokenizer.ggml.padding_token_id"
	KeyMASK           = "tokenizer.ggml.mask_token_id"
	KeyAddBOS         = "tokenizer.ggml.add_bos_token"
	KeyAddSpacePrefix = "tokenizer.ggml.add_space_prefix"
	KeyChatTemplate   = "tokenizer.chat_template"
	// KeyStopTokens is glmtool's: every id that ends a reply (ChatGLM3 stops on </s>, <|user|> and
	// <|observation|>; llama.cpp's single eos/eot cannot say this).
	KeyStopTokens = "tokenizer.ggml.eos_token_ids"
)

// SpecialTokenKey is the key of a special token's id: "eos" → tokenizer.ggml.eos_token_id.
func SpecialTokenKey(name string) string { return "tokenizer.ggml." + name + "_token_id" }

// Token types as llama.cpp (and SentencePiece) number them.
const (
	TokenNormal      int32 = 1
	TokenUnknown     int32 = 2
	TokenControl     int32 = 3
	TokenUserDefined int32 = 4
	TokenUnused      int32 = 5
	TokenByte        int32 = 6
)

// Keys are the architecture-prefixed hyper-parameter keys.
type Keys struct{ arch string }

// KeysFor returns the keys of an architecture.
func KeysFor(architecture string) Keys { return Keys{architecture} }

func (k Keys) key(s string) string { return k.arch + "." + s }

func (k Keys) ContextLength() string      { return k.key("context_length") }
func (k Keys) EmbeddingLength() string    { return k.key("embedding_length") }
func (k Keys) FeedForwardLength() string  { return k.key("feed_forward_length") }
func (k Keys) BlockCount() string         { return k.key("block_count") }
func (k Keys) HeadCount() string          { return k.key("attention.head_count") }
func (k Keys) HeadCountKV() string        { return k.key("attention.head_count_kv") }
func (k Keys) RMSEpsilon() string         { return k.key("attention.layer_norm_rms_epsilon") }
func (k Keys) LayerNormEpsilon() string   { return k.key("attention.layer_norm_epsilon") }
func (k Keys) KeyLength() string          { return k.key("attention.key_length") }
func (k Keys) ValueLength() string        { return k.key("attention.value_length") }
func (k Keys) RopeDimensionCount() string { return k.key("rope.dimension_count") }
func (k Keys) RopeFreqBase() string       { return k.key("rope.freq_base") }

// RopeScalingType is "linear" for position interpolation (chatglm2-6b-32k): positions are divided by
// RopeScalingFactor. llama.cpp reads these keys for every architecture, so such a file also runs right
// there.
func (k Keys) RopeScalingType() string   { return k.key("rope.scaling.type") }
func (k Keys) RopeScalingFactor() string { return k.key("rope.scaling.factor") }

// ResidualScale is chatglm1's α = √(2·28) multiplying the normalized input in each residual (spec §3.1).
func (k Keys) ResidualScale() string { return k.key("residual_scale") }

// Tensor names.
const (
	TokenEmbd      = "token_embd.weight"
	OutputNorm     = "output_norm.weight"
	OutputNormBias = "output_norm.bias"
	Output         = "output.weight"
	// PrefixKV is a P-Tuning v2 prefix as THUDM's prefix encoder stores it: [pre_seq_len, layers·2·kv_dim],
	// each row layer 0's key, layer 0's value, layer 1's key, ... (glmtool's; its name has no ".weight" so
	// that quantizers leave it F32, and llama.cpp, which has no prefixes, refuses the file).
	PrefixKV = "prefix_kv"
)

// LoRA adapter tensors are named for the weight they adapt: A [in, r] and B [r, out] in ggml order.
func LoRAA(weight string) string { return weight + ".lora_a" }
func LoRAB(weight string) string { return weight + ".lora_b" }

// Block tensor names; each takes the layer number.
func AttnNorm(l int) string       { return fmt.Sprintf("blk.%d.attn_norm.weight", l) }
func AttnNormBias(l int) string   { return fmt.Sprintf("blk.%d.attn_norm.bias", l) }
func AttnQKV(l int) string        { return fmt.Sprintf("blk.%d.attn_qkv.weight", l) }
func AttnQKVBias(l int) string    { return fmt.Sprintf("blk.%d.attn_qkv.bias", l) }
func AttnOutput(l int) string     { return fmt.Sprintf("blk.%d.attn_output.weight", l) }
func AttnOutputBias(l int) string { return fmt.Sprintf("blk.%d.attn_output.bias", l) }
func FFNNorm(l int) string        { return fmt.Sprintf("blk.%d.ffn_norm.weight", l) }
func FFNNormBias(l int) string    { return fmt.Sprintf("blk.%d.ffn_norm.bias", l) }
func FFNUp(l int) string          { return fmt.Sprintf("blk.%d.ffn_up.weight", l) }
func FFNUpBias(l int) string      { return fmt.Sprintf("blk.%d.ffn_up.bias", l) }
func FFNDown(l int) string        { return fmt.Sprintf("blk.%d.ffn_down.weight", l) }
func FFNDownBias(l int) string    { return fmt.Sprintf("blk.%d.ffn_down.bias", l) }

// The sandwich norms of the glm4 architecture, named as llama.cpp names them for every architecture
// (Gemma 2 introduced them): after the attention, and after the feed-forward block.
func AttnPostNorm(l int) string { return fmt.Sprintf("blk.%d.post_attention_norm.weight", l) }
func FFNPostNorm(l int) string  { return fmt.Sprintf("blk.%d.post_ffw_norm.weight", l) }
