"""Decoders for speech recognition, blank id 0 (CTC and RNN-T). Import from the modules:

In the graph (core TF ops; exported with the model):
    zoo.decoding.ctc_greedy.ctc_greedy, zoo.decoding.ctc_greedy_decoder.CTCGreedyDecoder (TFLite
    builtins), zoo.decoding.rnnt_greedy.rnnt_greedy.
Outside the graph (numpy, one utterance, returning zoo.decoding.hypothesis.Hypothesis lists):
    ctc_prefix_beam_search, rnnt_beam_search, attention_beam_search; ctc_prefix_score.CTCPrefixScorer
    adds CTC prefix scores to an attention beam search (joint CTC-attention decoding).
In-graph decoders return token_ids i32[B, U] padded with 0 and token_length i32[B]; the beam
searches take an optional `decode` (tokenizer.decode or a symbol list) to fill Hypothesis.text, and an
optional `lexicon` (zoo.decoding.lexicon.Lexicon) that keeps every word of a hypothesis in a word list.
"""
