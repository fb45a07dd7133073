"""Continued masked-language-model pre-training of an encoder handle on domain text.

    corpus files --corpus.py (one document a line, streamed)--> documents
      --packing.py (tokenised, long lines split, short ones packed to seq_length)-->
      --masking.py (dynamic 15% masking, 80/10/10, optional whole words; in tf.data)-->
      --model.py (BertPretrainerV2: native BertEncoder + MaskedLM head)-->
      --run.py (AdamW, TensorBoard, backup/resume) --> a new TF-Hub encoder handle

`bert_keras.pretrain(...)` and `bert-keras pretrain` (commands.py) drive it.
"""
