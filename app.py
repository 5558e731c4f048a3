"""The physdis-hub demo as a Hugging Face Space (Gradio SDK): ``python app.py``.

Locally, ``physdis app`` does the same (docs/app.md). The Space binds the address its
``GRADIO_SERVER_NAME`` names; anywhere else this serves 127.0.0.1 only.
"""

from physdis_hub.app import launch

if __name__ == "__main__":
    launch(host=None)
