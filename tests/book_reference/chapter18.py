"""Chapter 18's ``Model.train``: the whole set at once, one line every ``print_every``
epochs, and the validation data evaluated once, after training. Everything else is
chapter 22's (a chapter 18 script that also saves or predicts, as chainrule allows)."""

from . import chapter22
from .chapter22 import *  # noqa: F403

__all__ = chapter22.__all__


class Model(chapter22.Model):

    def train(self, X, y, *, epochs=1, print_every=1, validation_data=None):
        self.accuracy.init(y)
        for epoch in range(1, epochs + 1):
            # Chapter 18's loss does not accumulate; chapter 22's needs a pass begun
            self.loss.new_pass()
            self.accuracy.new_pass()
            output = self.forward(X, training=True)
            data_loss, regularization_loss = \
                self.loss.calculate(output, y, include_regularization=True)
            loss = data_loss + regularization_loss
            predictions = self.output_layer_activation.predictions(output)
            accuracy = self.accuracy.calculate(predictions, y)
            self.backward(output, y)
            self.optimizer.pre_update_params()
            for layer in self.trainable_layers:
                self.optimizer.update_params(layer)
            self.optimizer.post_update_params()
            if not epoch % print_every:
                print(f'epoch: {epoch}, ' +
                      f'acc: {accuracy:.3f}, ' +
                      f'loss: {loss:.3f} (' +
                      f'data_loss: {data_loss:.3f}, ' +
                      f'reg_loss: {regularization_loss:.3f}), ' +
                      f'lr: {self.optimizer.current_learning_rate}')
        if validation_data is not None:
            X_val, y_val = validation_data
            self.loss.new_pass()
            self.accuracy.new_pass()
            output = self.forward(X_val, training=False)
            loss = self.loss.calculate(output, y_val)
            predictions = self.output_layer_activation.predictions(output)
            accuracy = self.accuracy.calculate(predictions, y_val)
            print(f'validation, acc: {accuracy:.3f}, loss: {loss:.3f}')

