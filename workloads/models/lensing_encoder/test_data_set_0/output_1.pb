B
parametersJ®Ç½x2¾š˜‘>F“U=•J¤½zgÂ=