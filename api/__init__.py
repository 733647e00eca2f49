"""The open API: OpenAI-compatible chat, the documents API and an MCP server, over the same assistant as the chat.

``api.app`` builds the FastAPI app (``/v1/...``, OpenAPI docs at ``/docs``);
``api.server`` serves it with the Gradio chat mounted beside it on one port;
``api.mcp_server`` is ``rag mcp``; ``api.keys`` holds the programs' API keys.
"""
