"""User interfaces: the `thb` command line and the Gradio app; thin layers over the stages."""
