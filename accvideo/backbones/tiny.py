"""Random-weight diffusers pipelines of the real architectures (Wan2.1 T2V / I2V, HunyuanVideo), built offline.

For tests and benchmarks: every component comes from a config (no download), tokenizers are built with
the `tokenizers` library over a small word-level vocabulary. `build_pipeline(kind, size)` returns the
stock diffusers pipeline object; `save_pretrained` then gives a folder that loads like the real ones.
Sizes: "tiny" (seconds on a CPU) and, for Wan2.1-T2V, "1.3b" (the released architecture, random weights).
"""

from __future__ import annotations

import torch

# A small vocabulary: enough words for Shapes-world prompts and HunyuanVideo's prompt template.
WORDS = (
    "a an the of and to in on with by at is are video describe detailing following aspects main content theme "
    "color shape size texture quantity text spatial relationships objects actions events behaviors temporal "
    "physical movement changes background environment light style atmosphere camera angles movements "
    "transitions used system user large small medium red green blue yellow white black purple orange cyan "
    "circle square triangle star moving left right up down still static cat dog walks grass realistic "
    "1 2 3 4 5 . , : ; ! ? - ' \" ( )"
)
UMT5_SPECIAL = ("<pad>", "</s>", "<unk>")
LLAMA_SPECIAL = ("<|begin_of_text|>", "<|end_of_text|>", "<|start_header_id|>", "<|end_header_id|>", "<|eot_id|>",
                 "<unk>")
CLIP_SPECIAL = ("<|startoftext|>", "<|endoftext|>", "<unk>")

# Released Wan2.1-T2V-1.3B: transformer and UMT5-XXL text encoder (the VAE is AutoencoderKLWan's default config).
WAN_13B = dict(patch_size=(1, 2, 2), num_attention_heads=12, attention_head_dim=128, in_channels=16, out_channels=16,
               text_dim=4096, freq_dim=256, ffn_dim=8960, num_layers=30, cross_attn_norm=True,
               qk_norm="rms_norm_across_heads", eps=1e-6, rope_max_seq_len=1024)
UMT5_XXL = dict(vocab_size=256384, d_model=4096, d_kv=64, d_ff=10240, num_layers=24, num_heads=64,
                relative_attention_num_buckets=32, relative_attention_max_distance=128, feed_forward_proj="gated-gelu",
                dropout_rate=0.0)


def word_tokenizer(special: tuple[str, ...], pad: str, unk: str, bos: str | None, eos: str | None,
                   max_length: int):
    """A PreTrainedTokenizerFast: WordPiece over WORDS plus single letters (so any word tokenizes), BOS/EOS added."""
    import string

    from tokenizers import Tokenizer, models, pre_tokenizers, processors
    from transformers import PreTrainedTokenizerFast

    letters = tuple(string.ascii_letters + string.digits)
    pieces = special + tuple(WORDS.split()) + letters + tuple("##" + c for c in letters)
    vocab = {tok: i for i, tok in enumerate(dict.fromkeys(pieces))}
    tok = Tokenizer(models.WordPiece(vocab=vocab, unk_token=unk, max_input_chars_per_word=64))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    tok.add_special_tokens(list(special))
    single = " ".join(([f"{bos}:0"] if bos else []) + ["$A:0"] + ([f"{eos}:0"] if eos else []))
    specials = [(t, vocab[t]) for t in (bos, eos) if t]
    tok.post_processor = processors.TemplateProcessing(single=single, special_tokens=specials)
    return PreTrainedTokenizerFast(tokenizer_object=tok, pad_token=pad, unk_token=unk, bos_token=bos, eos_token=eos,
                                   model_max_length=max_length)


def _umt5(size: str):
    from transformers import UMT5Config, UMT5EncoderModel

    tokenizer = word_tokenizer(UMT5_SPECIAL, "<pad>", "<unk>", None, "</s>", 512)
    if size == "1.3b":
        cfg = UMT5Config(**UMT5_XXL)
    else:
        cfg = UMT5Config(vocab_size=len(tokenizer), d_model=16, d_kv=4, d_ff=32, num_layers=1, num_heads=2,
                         relative_attention_num_buckets=8, dropout_rate=0.0)
    return tokenizer, UMT5EncoderModel(cfg).eval()


def _wan_vae(size: str):
    from diffusers import AutoencoderKLWan

    if size == "1.3b":
        return AutoencoderKLWan()
    return AutoencoderKLWan(base_dim=3, z_dim=16, dim_mult=[1, 1, 1, 1], num_res_blocks=1,
                            temperal_downsample=[False, True, True])


def _wan_transformer(size: str, image_dim: int | None = None):
    from diffusers import WanTransformer3DModel

    if size == "1.3b":
        return WanTransformer3DModel(**WAN_13B)
    in_channels = 16 + (20 if image_dim else 0)  # I2V: + 4 mask channels + 16 condition latent channels
    return WanTransformer3DModel(patch_size=(1, 2, 2), num_attention_heads=2, attention_head_dim=12,
                                 in_channels=in_channels, out_channels=16, text_dim=16, freq_dim=16, ffn_dim=32,
                                 num_layers=3, cross_attn_norm=True, qk_norm="rms_norm_across_heads",
                                 rope_max_seq_len=32, image_dim=image_dim,
                                 added_kv_proj_dim=24 if image_dim else None)


def _flow_scheduler(shift: float):
    from diffusers import FlowMatchEulerDiscreteScheduler

    return FlowMatchEulerDiscreteScheduler(shift=shift)


def wan_t2v(size: str = "tiny"):
    """A WanPipeline (UMT5 + WanTransformer3DModel + AutoencoderKLWan) with random weights."""
    from diffusers import WanPipeline

    tokenizer, text_encoder = _umt5(size)
    return WanPipeline(tokenizer=tokenizer, text_encoder=text_encoder, vae=_wan_vae(size),
                       scheduler=_flow_scheduler(3.0), transformer=_wan_transformer(size))


def wan_i2v(size: str = "tiny"):
    """A WanImageToVideoPipeline (+ CLIP vision encoder and image processor) with random weights."""
    from diffusers import WanImageToVideoPipeline
    from transformers import CLIPImageProcessor, CLIPVisionConfig, CLIPVisionModel

    if size != "tiny":
        raise ValueError("only a tiny Wan I2V is built here")
    tokenizer, text_encoder = _umt5(size)
    vision = CLIPVisionModel(CLIPVisionConfig(hidden_size=8, intermediate_size=16, num_hidden_layers=2,
                                              num_attention_heads=2, image_size=16, patch_size=8,
                                              projection_dim=8)).eval()
    processor = CLIPImageProcessor(size={"shortest_edge": 16}, crop_size={"height": 16, "width": 16})
    return WanImageToVideoPipeline(tokenizer=tokenizer, text_encoder=text_encoder, vae=_wan_vae(size),
                                   scheduler=_flow_scheduler(3.0), image_processor=processor, image_encoder=vision,
                                   transformer=_wan_transformer(size, image_dim=8))


def hunyuan_t2v(size: str = "tiny"):
    """A HunyuanVideoPipeline (Llama + CLIP text encoders, HunyuanVideo transformer and VAE) with random weights."""
    from diffusers import AutoencoderKLHunyuanVideo, HunyuanVideoPipeline, HunyuanVideoTransformer3DModel
    from transformers import CLIPTextConfig, CLIPTextModel, LlamaConfig, LlamaModel

    if size != "tiny":
        raise ValueError("only a tiny HunyuanVideo is built here")
    llama_tok = word_tokenizer(LLAMA_SPECIAL, "<|end_of_text|>", "<unk>", "<|begin_of_text|>", None, 512)
    llama = LlamaModel(LlamaConfig(vocab_size=len(llama_tok), hidden_size=16, intermediate_size=32,
                                   num_hidden_layers=3, num_attention_heads=2, num_key_value_heads=2,
                                   max_position_embeddings=512, pad_token_id=llama_tok.pad_token_id)).eval()
    clip_tok = word_tokenizer(CLIP_SPECIAL, "<|endoftext|>", "<unk>", "<|startoftext|>", "<|endoftext|>", 77)
    clip = CLIPTextModel(CLIPTextConfig(vocab_size=len(clip_tok), hidden_size=8, intermediate_size=16,
                                        num_hidden_layers=1, num_attention_heads=2, projection_dim=8,
                                        max_position_embeddings=77, bos_token_id=clip_tok.bos_token_id,
                                        eos_token_id=clip_tok.eos_token_id,
                                        pad_token_id=clip_tok.pad_token_id)).eval()
    vae = AutoencoderKLHunyuanVideo(latent_channels=4, block_out_channels=(8, 8, 8, 8), layers_per_block=1,
                                    norm_num_groups=4, spatial_compression_ratio=8, temporal_compression_ratio=4)
    transformer = HunyuanVideoTransformer3DModel(in_channels=4, out_channels=4, num_attention_heads=2,
                                                 attention_head_dim=10, num_layers=2, num_single_layers=2,
                                                 num_refiner_layers=1, patch_size=2, patch_size_t=1,
                                                 text_embed_dim=16, pooled_projection_dim=8, rope_axes_dim=(2, 4, 4))
    return HunyuanVideoPipeline(text_encoder=llama, tokenizer=llama_tok, transformer=transformer, vae=vae,
                                scheduler=_flow_scheduler(7.0), text_encoder_2=clip, tokenizer_2=clip_tok)


BUILDERS = {"WanPipeline": wan_t2v, "WanImageToVideoPipeline": wan_i2v, "HunyuanVideoPipeline": hunyuan_t2v}


def build_pipeline(class_name: str, size: str = "tiny", seed: int = 0):
    """The named diffusers pipeline with random weights drawn from `seed`."""
    if class_name not in BUILDERS:
        raise ValueError(f"no builder for {class_name}; choose from {sorted(BUILDERS)}")
    torch.manual_seed(seed)
    return BUILDERS[class_name](size)
