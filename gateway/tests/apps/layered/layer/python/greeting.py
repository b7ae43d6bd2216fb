def greet(name):
    return f"hello {name}, from a layer"
