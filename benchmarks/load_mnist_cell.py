# The same preprocessing as the transform per image (pad to 32x32 pixels, normalize to [-1, +1]),
# applied once to all images together: the data are kept in memory as one tensor, which makes
# every epoch of training faster
transform = transforms.Compose([
    transforms.Pad(2),               # pad to 32x32 pixels
    transforms.Normalize(0.5, 0.5),  # normalize to [-1, +1]
])

mnist_root = os.environ.get('MNIST_ROOT', 'data')
try:
    mnist = datasets.MNIST(mnist_root, train=True, download=True)
except RuntimeError as error:
    raise RuntimeError(
        f'MNIST could not be downloaded into {mnist_root}/MNIST/raw/. Without internet, copy the four '
        'MNIST files, uncompressed (train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-images-idx3-ubyte '
        'and t10k-labels-idx1-ubyte; gunzip the .gz files), into that folder, or set the environment variable '
        'MNIST_ROOT to a folder that holds MNIST/raw/ with them. Then run this cell again.') from error
images = transform(mnist.data.unsqueeze(1) / 255)  # 60000 images, shape [60000, 1, 32, 32]
train_val_data = torch.utils.data.TensorDataset(images, mnist.targets)

# Split into train and validation set (a subset of the training set in quick mode)
if QUICK:
    train_val_data = torch.utils.data.Subset(train_val_data, range(num_train + num_val))
train_data, val_data = torch.utils.data.random_split(train_val_data, [num_train, num_val])

# Create data loaders
train_loader = torch.utils.data.DataLoader(train_data, batch_size=128, shuffle=True)
val_loader = torch.utils.data.DataLoader(val_data, batch_size=1000)
data_loaders = {
    'train': train_loader,
    'val': val_loader,
}
