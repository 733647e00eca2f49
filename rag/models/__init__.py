"""The generators (llama.cpp, transformers, OpenAI-compatible servers), the models a chat may pick,
and machine translation through them."""
