"""Explorer pages for the CLI (autograd.viz.explore): a model's loss on a tiny batch, or an
expression's graph, as one self-contained HTML file beside graph.svg."""
from autograd import Tensor, viz


def tiny_batch_loss(model, data):
    """The loss of `model` on 2 examples (3 characters for text), named "loss": a graph small
    enough to read, with every layer in it."""
    from nn import functional as F

    if data.kind == "text":
        logits, _ = model(Tensor(data.x_train[None, :3]))
        loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]),
                               Tensor(data.x_train[1:4]))
    else:
        loss = F.cross_entropy(model(Tensor(data.x_train[:2])), Tensor(data.y_train[:2]))
    loss.name = "loss"
    return loss


def model_page(model, data, path):
    """Write the explorer page of the model's loss on a tiny batch to `path`; returns the path.

    The parameters' gradients of that one batch are shown, then cleared again, as for
    graph.svg (chainrule.render.model_graph).
    """
    loss = tiny_batch_loss(model, data)
    # NOTE: retain_graph not for drawing (a released graph draws and steps too) but for the
    # page's numbers: a released graph keeps the values and gradients of tensors of at most
    # 6 elements only, and the page shows every activation's with its histogram.
    loss.backward(retain_graph=True)
    try:
        page = viz.explore(loss, model=model,
                           title=f"{type(model).__name__}: loss on a tiny batch")
        return page.save(path)
    finally:
        model.zero_grad()


def expression_page(output, path, source):
    """Write the explorer page of an expression's graph to `path`; returns the path."""
    return viz.explore(output, title=source).save(path)
