from adam import Adam
from dense_backward import Dense
from relu_backward import ReLU
from softmax_backward import Softmax

import chainrule

EPOCHS = 1500


def build_model():
    model = chainrule.Model([Dense(2, 128), ReLU(), Dense(128, 3), Softmax()])
    model.set(loss=chainrule.CategoricalCrossentropy(),
              optimizer=Adam(learning_rate=0.05, decay=5e-7))
    return model
