"""The book's own classes, written out again as "Neural Networks from Scratch in Python"
defines them, so that chainrule can be compared with them. Used by tests only.

The book grows its classes chapter by chapter; a script imports the set it was written
against, in place of its class definitions::

    from book_reference.chapter17 import *   # the hand-written loops of chapters 10-17
    from book_reference.chapter18 import *   # chapter 18's Model (full batch, per epoch)
    from book_reference.chapter22 import *   # the Model of chapters 19-22 (batches, files)

* ``optimizers``: SGD (decay, momentum), Adagrad, RMSprop and Adam (chapter 10), which
  never change again;
* ``chapter17``: layers, activations and losses as chapters 14-17 leave them
  (``forward(inputs)``, ``Loss.regularization_loss(layer)``);
* ``parts``: what chapters 18-21 change in them (``forward(inputs, training)``,
  ``predictions``, the remembered trainable layers, accumulated losses and accuracy,
  ``get_parameters``/``set_parameters``);
* ``model``: the ``Model`` of chapters 19-22; ``chapter18`` keeps chapter 18's training
  loop on top of it.

The arithmetic is the book's, operation for operation (``np.dot``, ``np.mean``,
``lr * (1. / (1. + decay * iterations))``), so that a patched NumPy (``nnfs.init()``)
affects it as it affects the book's code. The files of chapters 21-22 are pickles, as
in the book.
"""
