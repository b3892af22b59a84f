"""A plain torch script: reads its seeds with Seeds.from_env(), reports a loss curve and its final metrics.

``train`` is also studied as a function (``torch_mlp.py:train``), so the command study and the
function study can be compared bit for bit.
"""

import torch

import seedwise as sw


def train(seeds, config, report):
    data = sw.Seeds(0)["data"].torch()  # fixed data: not a studied source
    x = torch.randn(256, 8, generator=data)
    y = (x[:, :2].sum(1) > 0).long()
    torch.manual_seed(0)  # nothing below draws from it; kept as a typical script has it
    g_init, g_order, g_drop = seeds["init"].torch(), seeds["data_order"].torch(), seeds["dropout"].torch()
    model = torch.nn.Sequential(torch.nn.Linear(8, 16), torch.nn.ReLU(), torch.nn.Linear(16, 2))
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(torch.randn(p.shape, generator=g_init) * 0.3)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    for epoch in range(int(config.get("epochs", 3))):
        total = 0.0
        for batch in torch.randperm(256, generator=g_order).split(32):
            h = model[1](model[0](x[batch]))
            h = h * torch.bernoulli(torch.full_like(h, 0.8), generator=g_drop) / 0.8
            loss = torch.nn.functional.cross_entropy(model[2](h), y[batch])
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += loss.item() * len(batch)
        report(epoch, loss=total / 256)
    with torch.no_grad():
        logits = model(x)
    return {
        "accuracy": float((logits.argmax(1) == y).float().mean()),
        "nll": float(torch.nn.functional.cross_entropy(logits, y)),
    }


if __name__ == "__main__":
    sw.study.report(**train(sw.Seeds.from_env(), {}, sw.study.report))
