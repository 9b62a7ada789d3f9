"""The AccVideo studio (Gradio): teacher and student side by side; `app.studio.build_demo`. Nothing loads at import."""
