FROM infractl/toolbox:latest
COPY hello.txt /hello.txt
